// A fleet of virtual meters: N meters on one multi-drop bus (one serial device, unit ids / addresses 1..N),
// or N meters each on its own new socat pty pair. What a tester points several agents at.
import type { Logger } from 'pino';
import type { Duplex } from 'node:stream';
import { startDlt645Simulator, type Dlt645SimulatorHandle } from './dlt645/server.js';
import type { FaultsInput } from './faulty-line.js';
import { createPtyPair, type PtyPair } from './pty.js';
import { startSimulator, type SimulatorHandle } from './server.js';
import { openServingTransport, type ServingTransport } from './transport.js';
import { SimulatorError } from './errors.js';

export interface FleetOptions {
  protocol: 'modbus' | 'dlt645';
  /** 1..247 (Modbus unit ids; DL/T 645 addresses 000000000001 …). */
  meters: number;
  /** One serial device for all meters (a multi-drop bus). Without it, each meter gets its own pty pair. */
  path?: string;
  profile?: string;
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  pace?: boolean;
  faults?: FaultsInput;
  /** Meter i (1-based) uses seed + i. */
  seed?: number;
  initialEnergyWh?: number;
  /** DL/T 645: the meters' local time offset from UTC, minutes. */
  utcOffsetMin?: number;
}

export interface FleetMeter {
  /** Modbus unit id, or the DL/T 645 address's number. */
  index: number;
  /** Modbus unit id (modbus). */
  unitId?: number;
  /** 12-digit DL/T 645 address (dlt645). */
  address?: string;
  /** The device an agent opens for this meter. */
  agentPath: string;
  handle: SimulatorHandle | Dlt645SimulatorHandle;
}

export interface FleetHandle {
  readonly meters: readonly FleetMeter[];
  /** Reboots every meter (or the one with that index). */
  reboot(index?: number): void;
  close(): Promise<void>;
}

export const dlt645FleetAddress = (i: number): string => String(i).padStart(12, '0');

export async function startFleet(options: FleetOptions, deps: { log: Logger; clock?: () => number }): Promise<FleetHandle> {
  const n = options.meters;
  if (!Number.isInteger(n) || n < 1 || n > 247) throw new SimulatorError('CONFIG_INVALID', `fleet size ${n} is not 1..247`);
  const meters: FleetMeter[] = [];
  const pairs: PtyPair[] = [];
  let shared: ServingTransport | undefined;
  const closeAll = async (): Promise<void> => {
    for (const m of meters) await m.handle.close();
    await shared?.release();
    for (const p of pairs) await p.close();
  };
  try {
    const baudRate = options.baudRate ?? (options.protocol === 'dlt645' ? 2400 : 9600);
    if (options.path !== undefined) shared = await openServingTransport(options.path, baudRate, undefined);
    for (let i = 1; i <= n; i++) {
      let stream: Duplex | undefined;
      let agentPath: string;
      let path: string | undefined;
      if (shared) {
        stream = shared.stream; // every meter listens on the one bus; only the addressed one answers
        agentPath = options.path!;
      } else {
        const pair = await createPtyPair();
        pairs.push(pair);
        path = pair.a;
        agentPath = pair.b;
      }
      const common = {
        ...(path !== undefined ? { path } : {}),
        baudRate,
        ...(options.parity ? { parity: options.parity } : {}),
        pace: options.pace ?? false,
        faults: options.faults ?? {},
        seed: ((options.seed ?? 1) + i) >>> 0,
        initialEnergyWh: options.initialEnergyWh ?? 0,
        ...(options.profile ? { profile: options.profile } : {}),
      };
      const simOptions = { log: deps.log, ...(stream ? { stream } : {}), ...(deps.clock ? { clock: deps.clock } : {}) };
      if (options.protocol === 'modbus') {
        const handle = await startSimulator({ ...common, unitId: i }, simOptions);
        meters.push({ index: i, unitId: i, agentPath, handle });
      } else {
        const address = dlt645FleetAddress(i);
        const offset = options.utcOffsetMin !== undefined ? { utcOffsetMin: options.utcOffsetMin } : {};
        const handle = await startDlt645Simulator({ ...common, address, ...offset }, simOptions);
        meters.push({ index: i, address, agentPath, handle });
      }
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  let closed = false;
  return {
    meters,
    reboot(index?: number) {
      for (const m of meters) if (index === undefined || m.index === index) m.handle.reboot();
    },
    async close() {
      if (closed) return;
      closed = true;
      await closeAll();
    },
  };
}
