// The meter's side of DL/T 645-2007 framing, written independently of the agent's codec (device/src/dlt645)
// so that the two check each other, as the Modbus simulator's RTU code checks modbus-serial.
//   [FE FE FE FE] 68 A0..A5 68 C L DATA(+33H) CS 16
import { SimulatorError } from '../errors.js';

export const DLT645_START = 0x68; // DL/T 645-2007 §5.2.1
export const DLT645_END = 0x16; // §5.2.7
const PREAMBLE = 0xfe; // §5.3.1
const OFFSET = 0x33; // §5.2.5
export const DLT645_MAX_DATA = 200; // §5.2.4
export const DLT645_MIN_FRAME = 12;

/** A frame as the meter sees it: the address in wire order (A0 first), data with 33H removed. */
export interface Dlt645WireFrame {
  addressWire: Uint8Array;
  control: number;
  data: Uint8Array;
}

/** §5.2.6: modulo-256 sum from the first 68H through the last data byte. */
export function dlt645Checksum(bytes: Uint8Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += bytes[i]!;
  return s % 256;
}

/** Nameplate address (12 digits, A5 first) → wire order (A0 first), §5.2.2. */
export function dlt645AddressToWire(address: string): Uint8Array {
  if (!/^[0-9]{12}$/.test(address)) throw new SimulatorError('CONFIG_INVALID', `DL/T 645 address "${address.slice(0, 20)}" is not 12 digits`);
  const wire = new Uint8Array(6);
  for (let k = 0; k < 6; k++) wire[5 - k] = Number.parseInt(address.slice(2 * k, 2 * k + 2), 16); // "12" → 0x12: BCD
  return wire;
}

/** Structure and checksum of one frame (no preamble); throws SimulatorError DLT645_* codes, never answered. */
export function parseDlt645Frame(bytes: Uint8Array): Dlt645WireFrame {
  if (bytes.length < DLT645_MIN_FRAME) throw new SimulatorError('DLT645_SHORT_FRAME', `${bytes.length} bytes`);
  if (bytes[0] !== DLT645_START || bytes[7] !== DLT645_START) throw new SimulatorError('DLT645_BAD_START', 'no 68H at byte 0 and 7');
  const len = bytes[9]!;
  if (len > DLT645_MAX_DATA || bytes.length !== DLT645_MIN_FRAME + len) throw new SimulatorError('DLT645_LENGTH', `L = ${len}, ${bytes.length} bytes`);
  if (bytes[bytes.length - 1] !== DLT645_END) throw new SimulatorError('DLT645_BAD_END', 'no 16H at the end');
  if (dlt645Checksum(bytes, 0, 10 + len) !== bytes[10 + len]) throw new SimulatorError('DLT645_CHECKSUM', 'checksum mismatch');
  const data = new Uint8Array(len);
  for (let i = 0; i < len; i++) data[i] = (bytes[10 + i]! + 256 - OFFSET) % 256;
  return { addressWire: bytes.slice(1, 7), control: bytes[8]!, data };
}

/** The wire bytes of a frame the meter sends, with `preamble` FEH bytes first. */
export function encodeDlt645Frame(frame: Dlt645WireFrame, preamble = 4): Uint8Array {
  const len = frame.data.length;
  if (len > DLT645_MAX_DATA) throw new SimulatorError('DLT645_LENGTH', `data of ${len} bytes`);
  const out = new Uint8Array(preamble + DLT645_MIN_FRAME + len).fill(PREAMBLE, 0, preamble);
  const f = out.subarray(preamble);
  f[0] = DLT645_START;
  f.set(frame.addressWire, 1);
  f[7] = DLT645_START;
  f[8] = frame.control;
  f[9] = len;
  frame.data.forEach((b, i) => (f[10 + i] = (b + OFFSET) % 256));
  f[10 + len] = dlt645Checksum(f, 0, 10 + len);
  f[11 + len] = DLT645_END;
  return out;
}

/**
 * `value` (an integer count of the format's last digit) as `length` BCD bytes, least significant first; when
 * `signed`, a negative value sets the top bit of the last byte (DL/T 645-2007 Appendix A notes). Values beyond
 * the format saturate at its largest value, as a meter's display would stop.
 */
export function dlt645Bcd(value: bigint, length: number, signed: boolean): Uint8Array {
  const negative = signed && value < 0n;
  let mag = value < 0n ? (signed ? -value : 0n) : value;
  const limit = signed ? 8n * 10n ** BigInt(2 * length - 1) - 1n : 10n ** BigInt(2 * length) - 1n;
  if (mag > limit) mag = limit;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const lo = mag % 10n;
    const hi = (mag / 10n) % 10n;
    out[i] = Number(hi * 16n + lo);
    mag /= 100n;
  }
  if (negative) out[length - 1]! |= 0x80;
  return out;
}

/** DI3..DI0 (8 hex digits, DI3 first) from the four data bytes, sent DI0 first (chapter 6). */
export function dlt645DiFromData(data: Uint8Array): string {
  if (data.length < 4) throw new SimulatorError('DLT645_LENGTH', `a data identifier needs 4 bytes, got ${data.length}`);
  return [data[3]!, data[2]!, data[1]!, data[0]!].map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
}

/** The four DI bytes, DI0 first. */
export function dlt645DiToData(di: string): Uint8Array {
  const n = Number.parseInt(di, 16);
  return Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
}
