// Packed BCD as DL/T 645-2007 carries values: two decimal digits per byte, least significant byte first
// (DL/T 645-2007 §5.3.2: every data item is sent low byte first), optionally with a sign in the top bit.
import { Dlt645Error } from './errors.js';

export interface BcdOptions {
  /** The top bit of the most significant byte is the sign, 1 = negative (DL/T 645-2007 Appendix A notes). */
  signed?: boolean;
}

/** True when both nibbles of `b` are decimal digits. */
export function isBcdByte(b: number): boolean {
  return (b & 0x0f) <= 9 && b >> 4 <= 9;
}

function digitsOf(b: number, where: string): number {
  if (!isBcdByte(b)) {
    throw new Dlt645Error('BCD', `${where}: byte 0x${b.toString(16).padStart(2, '0')} is not BCD`);
  }
  return (b >> 4) * 10 + (b & 0x0f);
}

/** Decodes little-endian packed BCD to an exact integer; throws Dlt645Error BCD on a nibble above 9. */
export function decodeBcd(bytes: Uint8Array, options: BcdOptions = {}): bigint {
  if (bytes.length === 0) throw new Dlt645Error('LENGTH', 'BCD value: no bytes');
  let value = 0n;
  let negative = false;
  for (let i = bytes.length - 1; i >= 0; i--) {
    let b = bytes[i]!;
    if (i === bytes.length - 1 && options.signed) {
      negative = (b & 0x80) !== 0; // the sign bit leaves three bits (0..7) for the top digit
      b &= 0x7f;
    }
    value = value * 100n + BigInt(digitsOf(b, `BCD byte ${i}`));
  }
  return negative ? -value : value;
}

/** The largest magnitude `length` BCD bytes can carry (7 in the top digit when signed). */
export function maxBcd(length: number, options: BcdOptions = {}): bigint {
  const all = 10n ** BigInt(2 * length) - 1n;
  return options.signed ? all - 2n * 10n ** BigInt(2 * length - 1) : all; // 99..9 or 79..9
}

/** Encodes an integer as `length` little-endian packed BCD bytes; throws Dlt645Error BCD when it does not fit. */
export function encodeBcd(value: bigint, length: number, options: BcdOptions = {}): Uint8Array {
  if (!Number.isInteger(length) || length < 1) throw new Dlt645Error('LENGTH', `BCD length ${length} is not a positive integer`);
  const negative = value < 0n;
  if (negative && !options.signed) throw new Dlt645Error('BCD', `${value} is negative and the format is unsigned`);
  let magnitude = negative ? -value : value;
  if (magnitude > maxBcd(length, options)) throw new Dlt645Error('BCD', `${value} does not fit ${length} BCD bytes`);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const two = Number(magnitude % 100n);
    out[i] = (Math.floor(two / 10) << 4) | two % 10;
    magnitude /= 100n;
  }
  if (negative) out[length - 1]! |= 0x80;
  return out;
}

/** Two decimal digits per byte, most significant first, of bytes sent least significant first (addresses). */
export function bcdDigits(bytes: Uint8Array): string {
  let s = '';
  for (let i = bytes.length - 1; i >= 0; i--) s += String(digitsOf(bytes[i]!, `BCD byte ${i}`)).padStart(2, '0');
  return s;
}
