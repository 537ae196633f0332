// A port over a real serial device that delivers whole response frames: what ModbusBus (bus.ts) transacts on,
// and a valid modbus-serial custom port too.
// modbus-serial's ModbusRTU checks CRC and length per 'data' event (index.js _onReceive), so a raw
// SerialPort, which emits arbitrary chunks, must be reassembled first. Like modbus-serial's
// RTUBufferedPort, frames are found by the length the last request implies (3.5-character silence,
// Modbus over Serial Line V1.02 §2.5.1.1, is not observable from user space); unlike it, a CRC-valid
// candidate is preferred over a corrupt one and the buffer can be flushed between retries.
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';

/** What `new ModbusRTU(port)` needs from a custom port (modbus-serial 8, index.js). */
export interface ModbusPort extends EventEmitter {
  readonly isOpen: boolean;
  open(callback: (err: Error | null) => void): void;
  close(callback: (err?: Error | null) => void): void;
  write(data: Buffer): unknown;
  /** Optional: discard buffered bytes (called between retries). */
  flush?(): void;
}

// Modbus over Serial Line V1.02 §6.2.2: CRC-16, polynomial 0xA001 (reflected), init 0xFFFF.
export function crc16(b: Uint8Array, start: number, end: number): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) {
    crc ^= b[i]!;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

function crcOk(b: Uint8Array, start: number, len: number): boolean {
  const crc = crc16(b, start, start + len - 2);
  return b[start + len - 2] === (crc & 0xff) && b[start + len - 1] === crc >>> 8; // low byte first (§2.5.1.2)
}

const EXCEPTION_LENGTH = 5; // unit, fc | 0x80, code, CRC(2) — Modbus Application Protocol V1.1b3 §7
const MAX_BUFFER = 512;

/** Reassembles the response to the last request from arbitrary chunks. Pure: no I/O. */
export class RtuResponseFramer {
  private buf = Buffer.alloc(0);
  private unit = -1;
  private fc = -1;
  private length = 0;

  /** Records what the answer to `request` must look like (Modbus Application Protocol V1.1b3 §6). */
  expect(request: Uint8Array): void {
    this.unit = request[0] ?? -1;
    this.fc = request[1] ?? -1;
    const qty = request.length >= 6 ? (request[4]! << 8) | request[5]! : 0;
    if (this.fc === 3 || this.fc === 4) this.length = 5 + 2 * qty; // unit, fc, byte count, 2N data, CRC
    else if (this.fc === 6 || this.fc === 16) this.length = 8; // echo / address + quantity
    else this.length = 0; // not used by the reader: only exceptions are recognised
  }

  push(chunk: Uint8Array): Buffer[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (this.buf.length > MAX_BUFFER) this.buf = this.buf.subarray(this.buf.length - MAX_BUFFER);
    const out: Buffer[] = [];
    let corrupt: [number, number] | undefined; // first complete candidate whose CRC failed
    for (let i = 0; i + 2 <= this.buf.length; i++) {
      if (this.buf[i] !== this.unit) continue;
      const fc = this.buf[i + 1];
      const len = fc === this.fc && this.length > 0 ? this.length : fc === (this.fc | 0x80) ? EXCEPTION_LENGTH : 0;
      if (len === 0) continue;
      if (i + len > this.buf.length) return out; // a header whose rest is still on its way
      if (crcOk(this.buf, i, len)) return this.emit(out, i, len);
      corrupt ??= [i, len];
    }
    // Only corrupt candidates: hand the first over so the client reports a CRC error instead of timing out.
    if (corrupt) return this.emit(out, corrupt[0], corrupt[1]);
    return out;
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
  }

  get buffered(): number {
    return this.buf.length;
  }

  private emit(out: Buffer[], start: number, len: number): Buffer[] {
    out.push(Buffer.from(this.buf.subarray(start, start + len)));
    this.buf = this.buf.subarray(start + len);
    this.unit = this.fc = -1; // one answer per request: later bytes are stale
    return out;
  }
}

export interface SerialLineOptions {
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
}

export class SerialRtuPort extends EventEmitter implements ModbusPort {
  /** modbus-serial sets these on open (index.js ModbusRTU#open). */
  _transactionIdRead = 1;
  _transactionIdWrite = 1;
  private readonly serial: SerialPort;
  private readonly framer = new RtuResponseFramer();

  constructor(path: string, line: SerialLineOptions) {
    super();
    this.serial = new SerialPort({ path, ...line, autoOpen: false });
    this.serial.on('data', (chunk: Buffer) => {
      for (const frame of this.framer.push(chunk)) this.emit('data', frame);
    });
    this.serial.on('error', (err: Error) => this.emit('error', err));
    this.serial.on('close', () => this.emit('close'));
  }

  get isOpen(): boolean {
    return this.serial.isOpen;
  }

  open(callback: (err: Error | null) => void): void {
    this.serial.open((err) => callback(err ?? null));
  }

  close(callback: (err?: Error | null) => void): void {
    if (!this.serial.isOpen) {
      callback(null);
      return;
    }
    this.serial.close((err) => callback(err ?? null));
  }

  write(data: Buffer): boolean {
    this.framer.reset(); // Modbus RTU is half duplex: anything before our request is stale
    this.framer.expect(data);
    return this.serial.write(data);
  }

  flush(): void {
    this.framer.reset();
  }
}
