// Finds serial ports. serialport's list() asks udev (udevadm) on Linux, which minimal images lack; then we
// scan /dev for the names USB serial adapters (ttyUSB*), CDC-ACM devices (ttyACM*) and a Pi's USB gadget
// serial (ttyGS*) get.
import { readdirSync } from 'node:fs';
import { SerialPort } from 'serialport';

export interface PortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
}

export interface PortList {
  ports: PortInfo[];
  source: 'serialport' | 'dev-scan';
  /** Why the /dev scan was used. */
  note?: string;
}

export const SCANNED_PREFIXES = ['ttyUSB', 'ttyACM', 'ttyGS'];

export function scanDev(dir = '/dev'): PortInfo[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => SCANNED_PREFIXES.some((p) => n.startsWith(p) && n.length > p.length))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((n) => ({ path: `${dir}/${n}` }));
}

export async function listPorts(deps: { list?: () => Promise<PortInfo[]>; dir?: string } = {}): Promise<PortList> {
  const list = deps.list ?? (() => SerialPort.list());
  let why: string;
  try {
    const ports = (await list()).map(({ path, manufacturer, serialNumber, vendorId, productId }) =>
      ({ path, manufacturer, serialNumber, vendorId, productId }));
    if (ports.length > 0) return { ports, source: 'serialport' };
    why = 'serialport found no ports';
  } catch (err) {
    why = `serialport could not list ports (${(err as Error).message}; is udevadm installed?)`;
  }
  return { ports: scanDev(deps.dir), source: 'dev-scan', note: `${why}; scanned ${deps.dir ?? '/dev'} for ${SCANNED_PREFIXES.map((p) => p + '*').join(', ')}` };
}
