// A-XDR length (and element count) encoding (IEC 61334-6, as used by IEC 62056-5-3 §8 for variable-length
// types): below 128 one octet; otherwise 0x80 | n followed by n octets, big-endian (the BER definite form).
import { DlmsError } from '../errors.js';

/** Lengths above this are refused when decoding: larger than any APDU this stack accepts. */
export const MAX_LENGTH_OCTETS = 4;

export function encodeLength(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new DlmsError('VALUE', `length out of range: ${n}`);
  if (n < 0x80) return Uint8Array.of(n); // short form
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v % 256);
  return Uint8Array.of(0x80 | octets.length, ...octets); // long form
}

/**
 * Reads a length at `offset`; returns it and the offset after it. Throws SHORT when the bytes end first,
 * LENGTH for the indefinite form (0x80) or more than four length octets. The caller checks the length
 * against the bytes that follow.
 */
export function decodeLength(bytes: Uint8Array, offset: number): [length: number, next: number] {
  const first = bytes[offset];
  if (first === undefined) throw new DlmsError('SHORT', `length expected at offset ${offset}`);
  if (first < 0x80) return [first, offset + 1];
  const n = first & 0x7f;
  if (n === 0 || n > MAX_LENGTH_OCTETS) throw new DlmsError('LENGTH', `unsupported length form 0x${first.toString(16)} at offset ${offset}`);
  if (offset + 1 + n > bytes.length) throw new DlmsError('SHORT', `length octets cut short at offset ${offset}`);
  let v = 0;
  for (let i = 1; i <= n; i++) v = v * 256 + bytes[offset + i]!;
  return [v, offset + 1 + n];
}
