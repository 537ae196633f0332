// HDLC addresses of IEC 62056-46 §6.4.2: each byte carries 7 address bits above an extension bit; the
// extension bit (LSB) is 1 only in the last byte of an address (ISO/IEC 13239 address field extension).
import { DlmsError } from './errors.js';

/**
 * One HDLC address as it appears on the line. `size` is its length in bytes.
 *  - size 1: `upper` only (7 bits). A client address is always this (IEC 62056-46 §6.4.2.1).
 *  - size 2: server `upper` (logical device) and `lower` (physical device), 7 bits each.
 *  - size 4: server `upper` and `lower`, 14 bits each (two bytes each).
 */
export interface HdlcAddress {
  size: 1 | 2 | 4;
  upper: number;
  lower?: number;
}

// IEC 62056-46 §6.4.2.2, reserved special HDLC addresses (one-byte value / two-byte value).
export const CLIENT_NO_STATION = 0x00;
export const CLIENT_MANAGEMENT_PROCESS = 0x01;
export const CLIENT_PUBLIC = 0x10;
export const CLIENT_ALL_STATION = 0x7f;
export const SERVER_NO_STATION = 0x00;
export const SERVER_MANAGEMENT_LOGICAL_DEVICE = 0x01;
export const SERVER_CALLING_PHYSICAL = { 1: 0x7e, 2: 0x3ffe } as const; // lower address only
export const SERVER_ALL_STATION = { 1: 0x7f, 2: 0x3fff } as const; // broadcast

const MAX = { 1: 0x7f, 2: 0x3fff } as const; // 7 bits per byte (IEC 62056-46 §6.4.2.1)

function isInt(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

/** Throws ADDRESS unless `a` is a well-formed 1, 2 or 4-byte address (IEC 62056-46 §6.4.2.1). */
export function checkAddress(a: HdlcAddress): void {
  if (a.size === 1) {
    if (!isInt(a.upper, MAX[1])) throw new DlmsError('ADDRESS', `one-byte address out of range: ${a.upper}`);
    if (a.lower !== undefined) throw new DlmsError('ADDRESS', 'a one-byte address has no lower part');
    return;
  }
  if (a.size !== 2 && a.size !== 4) throw new DlmsError('ADDRESS', `address size must be 1, 2 or 4, not ${String(a.size)}`);
  const max = MAX[a.size === 2 ? 1 : 2];
  if (!isInt(a.upper, max) || !isInt(a.lower, max)) {
    throw new DlmsError('ADDRESS', `${a.size}-byte address parts must be 0..${max}: ${a.upper}/${String(a.lower)}`);
  }
}

/** The client address for a client SAP: 0x01 (management process), 0x10 (public client) … 0x7E. */
export function clientAddress(sap: number): HdlcAddress {
  // IEC 62056-46 §6.4.2.2: 0x00 is no-station and 0x7F all-station; neither can be a calling client.
  if (!isInt(sap, 0x7e) || sap === CLIENT_NO_STATION) throw new DlmsError('ADDRESS', `client SAP must be 1..126: ${sap}`);
  return { size: 1, upper: sap };
}

/**
 * A server address from its logical device (upper HDLC address) and, optionally, physical device (lower
 * HDLC address). Without `physical` the address is one byte; with it, two bytes when both fit 7 bits,
 * else four. `size` forces a length (e.g. 4 for a meter that only accepts four-byte addresses).
 */
export function serverAddress(logical: number, physical?: number, size?: 1 | 2 | 4): HdlcAddress {
  const s = size ?? (physical === undefined ? 1 : logical <= MAX[1] && physical <= MAX[1] ? 2 : 4);
  if (s === 1 && physical !== undefined) throw new DlmsError('ADDRESS', 'a one-byte server address has no physical part');
  if (s !== 1 && physical === undefined) throw new DlmsError('ADDRESS', `a ${s}-byte server address needs a physical part`);
  // IEC 62056-46 §6.4.2.2: upper address 0 is no-station, never a destination.
  if (logical === SERVER_NO_STATION) throw new DlmsError('ADDRESS', 'logical device 0 is the no-station address');
  const a: HdlcAddress = s === 1 ? { size: 1, upper: logical } : { size: s, upper: logical, lower: physical! };
  checkAddress(a);
  return a;
}

/** The address bytes, extension bit set in the last one only (IEC 62056-46 §6.4.2.1). */
export function encodeAddress(a: HdlcAddress): Uint8Array {
  checkAddress(a);
  if (a.size === 1) return Uint8Array.of((a.upper << 1) | 1);
  const lower = a.lower!;
  if (a.size === 2) return Uint8Array.of(a.upper << 1, (lower << 1) | 1);
  // Four bytes: the high then low 7 bits of the upper address, then those of the lower address.
  return Uint8Array.of((a.upper >>> 7) << 1, (a.upper & 0x7f) << 1, (lower >>> 7) << 1, ((lower & 0x7f) << 1) | 1);
}

/** Decodes the address starting at bytes[offset]; `end` bounds the search. Returns it and its length. */
export function decodeAddress(bytes: Uint8Array, offset = 0, end = bytes.length): { address: HdlcAddress; length: number } {
  let n = 0;
  for (;;) {
    if (offset + n >= end) throw new DlmsError('ADDRESS', 'address runs past the end of the header');
    if (n === 4) throw new DlmsError('ADDRESS', 'address longer than 4 bytes (no extension bit set)');
    const last = (bytes[offset + n]! & 1) === 1; // extension bit: 1 marks the last byte
    n++;
    if (last) break;
  }
  const b = (i: number) => bytes[offset + i]! >>> 1;
  if (n === 1) return { address: { size: 1, upper: b(0) }, length: 1 };
  if (n === 2) return { address: { size: 2, upper: b(0), lower: b(1) }, length: 2 };
  if (n === 4) return { address: { size: 4, upper: (b(0) << 7) | b(1), lower: (b(2) << 7) | b(3) }, length: 4 };
  throw new DlmsError('ADDRESS', 'a 3-byte address is not allowed (IEC 62056-46 §6.4.2.1)');
}

/** Bytes an address-field scan needs: 'more' when the extension bit has not arrived yet. */
export function addressLength(bytes: Uint8Array, offset: number, end: number): number | 'more' | 'bad' {
  for (let n = 0; n < 4; n++) {
    if (offset + n >= end) return 'more';
    if (bytes[offset + n]! & 1) return n === 2 ? 'bad' : n + 1;
  }
  return 'bad';
}

export function sameAddress(a: HdlcAddress, b: HdlcAddress): boolean {
  return a.size === b.size && a.upper === b.upper && (a.lower ?? -1) === (b.lower ?? -1);
}

export function formatAddress(a: HdlcAddress): string {
  return a.size === 1 ? `${a.upper}` : `${a.upper}/${a.lower}`;
}
