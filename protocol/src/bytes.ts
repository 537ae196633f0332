import { ProtocolError } from './errors.js';

const HEX = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!;
  return s;
}

export function fromHex(hex: string, expectedLength?: number): Uint8Array {
  if (hex.length % 2 !== 0) throw new ProtocolError('BAD_HEX', `hex string has odd length ${hex.length}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = HEX.indexOf(hex[2 * i]!.toLowerCase());
    const lo = HEX.indexOf(hex[2 * i + 1]!.toLowerCase());
    if (hi < 0 || lo < 0) throw new ProtocolError('BAD_HEX', `invalid hex digit near offset ${2 * i}`);
    out[i] = (hi << 4) | lo;
  }
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new ProtocolError('BAD_LENGTH', `expected ${expectedLength} bytes, got ${out.length}`);
  }
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Strict standard base64 (RFC 4648 §4, with padding): rejects anything that does not round-trip. */
export function fromBase64(text: string): Uint8Array {
  const buf = Buffer.from(text, 'base64');
  if (buf.toString('base64') !== text) throw new ProtocolError('BAD_BASE64', 'not canonical standard base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export const utf8 = {
  encode: (s: string): Uint8Array => new TextEncoder().encode(s),
  decode: (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: true }).decode(b),
};
