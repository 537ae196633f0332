// The DL/T 645-2007 link-layer frame, pure: bytes in, value out (or a typed error), and back.
//   [FE FE FE FE] 68 A0 A1 A2 A3 A4 A5 68 C L DATA(L bytes, each +33H) CS 16
import { bcdDigits, isBcdByte } from './bcd.js';
import { Dlt645Error } from './errors.js';

export const PREAMBLE = 0xfe; // DL/T 645-2007 §5.3.1: FEH wake-up bytes before a frame
export const START = 0x68; // §5.2.1 frame start character, twice: before and after the address
export const END = 0x16; // §5.2.7 end character
export const DATA_OFFSET = 0x33; // §5.2.5: the sender adds 33H to every data byte, the receiver subtracts it
export const MAX_DATA_LENGTH = 200; // §5.2.4: L ≤ 200 for reads, ≤ 50 for writes
export const MIN_FRAME_LENGTH = 12; // 68 + 6 address + 68 + C + L + CS + 16, with L = 0
export const DEFAULT_PREAMBLE = 4; // the master sends four FEH before each frame

/** §5.2.2: 99..99 is the broadcast address (broadcast commands, never answered). */
export const BROADCAST_ADDRESS = '999999999999';
/** §5.2.2 / §7.4: AAH is a wildcard byte; all-AA asks whichever meter is on a point-to-point line. */
export const WILDCARD_ADDRESS = 'AAAAAAAAAAAA';

/** §5.2.3 control code C: D7 direction, D6 abnormal answer, D5 follow-up frames, D4..D0 function. */
export const ControlBit = { Response: 0x80, Abnormal: 0x40, FollowUp: 0x20 } as const;
export const FUNCTION_MASK = 0x1f;
export const FunctionCode = {
  BroadcastTime: 0x08,
  ReadData: 0x11, // §7.1
  ReadFollowUp: 0x12, // §7.2
  ReadAddress: 0x13, // §7.4
  WriteData: 0x14,
  WriteAddress: 0x15,
  Freeze: 0x16,
  ChangeBaudRate: 0x17,
  ChangePassword: 0x18,
  ClearMaxDemand: 0x19,
  ClearMeter: 0x1a,
  ClearEvents: 0x1b,
} as const;

export interface Dlt645Frame {
  /** 12 characters, nameplate order (A5 first): two digits per byte, or "AA" for a wildcard byte. */
  address: string;
  /** Control code C (§5.2.3). */
  control: number;
  /** The data field with the 33H offset already removed (§5.2.5). */
  data: Uint8Array;
}

export interface ControlFields {
  response: boolean;
  abnormal: boolean;
  followUp: boolean;
  func: number;
}

export function controlFields(control: number): ControlFields {
  return {
    response: (control & ControlBit.Response) !== 0,
    abnormal: (control & ControlBit.Abnormal) !== 0,
    followUp: (control & ControlBit.FollowUp) !== 0,
    func: control & FUNCTION_MASK,
  };
}

/** §5.2.6: the modulo-256 sum of every byte from the first 68H up to the byte before CS. */
export function checksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + bytes[i]!) & 0xff;
  return sum;
}

/** True for a 12-character address of two-digit groups and "AA" wildcards. */
export function isAddress(address: string): boolean {
  return typeof address === 'string' && /^(?:[0-9]{2}|AA){6}$/.test(address);
}

/** §5.2.2: the 6 address bytes in wire order, A0 (the two least significant digits) first. */
export function encodeAddress(address: string): Uint8Array {
  if (!isAddress(address)) {
    throw new Dlt645Error('BCD', `address ${JSON.stringify(String(address).slice(0, 24))} is not 12 digits (or AA wildcard bytes)`);
  }
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    const pair = address.slice(10 - 2 * i, 12 - 2 * i); // A0 is the last pair of the printed address
    out[i] = pair === 'AA' ? 0xaa : (Number(pair[0]) << 4) | Number(pair[1]);
  }
  return out;
}

/** The inverse of encodeAddress; throws Dlt645Error BCD for a byte that is neither BCD nor AAH. */
export function decodeAddress(wire: Uint8Array): string {
  if (wire.length !== 6) throw new Dlt645Error('LENGTH', `address has ${wire.length} bytes, not 6`);
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const b = wire[i]!;
    if (b === 0xaa) s += 'AA';
    else if (isBcdByte(b)) s += bcdDigits(wire.subarray(i, i + 1));
    else throw new Dlt645Error('BCD', `address byte A${i} = 0x${b.toString(16).padStart(2, '0')} is neither BCD nor AAH`);
  }
  return s;
}

const hex2 = (b: number): string => b.toString(16).padStart(2, '0');

/**
 * Parses exactly one frame, optionally preceded by FEH wake-up bytes (§5.3.1). Checks, in order: the two
 * start characters (§5.2.1), L (§5.2.4), the byte count, the end character (§5.2.7), CS (§5.2.6), the address
 * (§5.2.2). Throws Dlt645Error only.
 */
export function parseFrame(bytes: Uint8Array): Dlt645Frame {
  let p = 0;
  while (p < bytes.length && bytes[p] === PREAMBLE) p++;
  const n = bytes.length - p;
  if (n < MIN_FRAME_LENGTH) throw new Dlt645Error('SHORT_FRAME', `frame has ${n} bytes after the preamble; the minimum is ${MIN_FRAME_LENGTH}`);
  if (bytes[p] !== START) throw new Dlt645Error('BAD_START', `frame starts with 0x${hex2(bytes[p]!)}, not 68H`);
  if (bytes[p + 7] !== START) throw new Dlt645Error('BAD_START', `byte 7 of the frame is 0x${hex2(bytes[p + 7]!)}, not the second 68H`);
  const length = bytes[p + 9]!;
  if (length > MAX_DATA_LENGTH) throw new Dlt645Error('LENGTH', `L = ${length} exceeds ${MAX_DATA_LENGTH}`);
  const total = MIN_FRAME_LENGTH + length;
  if (n < total) throw new Dlt645Error('SHORT_FRAME', `L = ${length} needs ${total} bytes, have ${n}`);
  if (n > total) throw new Dlt645Error('LENGTH', `${n - total} bytes after the end of the frame`);
  const csAt = p + 10 + length;
  if (bytes[csAt + 1] !== END) throw new Dlt645Error('BAD_END', `frame ends with 0x${hex2(bytes[csAt + 1]!)}, not 16H`);
  const cs = checksum(bytes, p, csAt);
  if (bytes[csAt] !== cs) throw new Dlt645Error('CHECKSUM', `CS is 0x${hex2(bytes[csAt]!)}, the bytes sum to 0x${hex2(cs)}`);
  const address = decodeAddress(bytes.subarray(p + 1, p + 7));
  const data = Uint8Array.from(bytes.subarray(p + 10, csAt), (b) => (b - DATA_OFFSET) & 0xff); // §5.2.5
  return { address, control: bytes[p + 8]!, data };
}

/** Builds the wire bytes of a frame, with `preamble` FEH bytes in front (§5.3.1; default 4, 0 for none). */
export function encodeFrame(frame: Dlt645Frame, options: { preamble?: number } = {}): Uint8Array {
  const preamble = options.preamble ?? DEFAULT_PREAMBLE;
  if (!Number.isInteger(preamble) || preamble < 0 || preamble > 4) throw new Dlt645Error('LENGTH', `preamble ${preamble} is not 0..4 bytes`);
  if (!Number.isInteger(frame.control) || frame.control < 0 || frame.control > 0xff) {
    throw new Dlt645Error('PROTOCOL', `control code ${frame.control} is not a byte`);
  }
  const length = frame.data.length;
  if (length > MAX_DATA_LENGTH) throw new Dlt645Error('LENGTH', `data of ${length} bytes exceeds L ≤ ${MAX_DATA_LENGTH}`);
  const out = new Uint8Array(preamble + MIN_FRAME_LENGTH + length);
  out.fill(PREAMBLE, 0, preamble);
  let p = preamble;
  const start = p;
  out[p++] = START;
  out.set(encodeAddress(frame.address), p);
  p += 6;
  out[p++] = START;
  out[p++] = frame.control;
  out[p++] = length;
  for (const b of frame.data) out[p++] = (b + DATA_OFFSET) & 0xff; // §5.2.5
  out[p] = checksum(out, start, p); // §5.2.6
  out[p + 1] = END;
  return out;
}
