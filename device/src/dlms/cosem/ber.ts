// The BER subset the ACSE APDUs need (ITU-T X.690 definite-length form, as IEC 62056-5-3 §8 prescribes for
// AARQ/AARE/RLRQ/RLRE): TLVs with low- and high-number tags, short and long lengths, object identifiers.
import { DlmsError } from '../errors.js';
import { encodeLength } from '../axdr/length.js';

export interface Tlv {
  /** Identifier octets as one number: 0x60 for [APPLICATION 0] constructed, 0x5F1F for [APPLICATION 31]. */
  tag: number;
  value: Uint8Array;
}

// X.690 §8.1.2: identifier octets (class, constructed bit, number; 0x1F = high tag number form follows).
export const BER_CLASS = { universal: 0x00, application: 0x40, context: 0x80 } as const;
export const CONSTRUCTED = 0x20;

/** Reads the TLVs that make up `bytes` exactly; BER for anything malformed. */
export function readTlvs(bytes: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    let tag = bytes[pos++]!;
    if ((tag & 0x1f) === 0x1f) {
      // X.690 §8.1.2.4: subsequent octets, 7 bits each, bit 8 set on all but the last (at most two here)
      for (let i = 0; ; i++) {
        const b = bytes[pos++];
        if (b === undefined) throw new DlmsError('BER', 'tag cut short');
        if (i === 2) throw new DlmsError('BER', 'tag number too large');
        tag = tag * 256 + b;
        if ((b & 0x80) === 0) break;
      }
    }
    const first = bytes[pos++];
    if (first === undefined) throw new DlmsError('BER', 'length missing');
    let len = first;
    if (first >= 0x80) {
      // X.690 §8.1.3.5 long form; 0x80 (indefinite form, §8.1.3.6) is not used by DLMS/COSEM
      const n = first & 0x7f;
      if (n === 0 || n > 3) throw new DlmsError('BER', `unsupported length form 0x${first.toString(16)}`);
      if (pos + n > bytes.length) throw new DlmsError('BER', 'length cut short');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + bytes[pos++]!;
    }
    if (pos + len > bytes.length) throw new DlmsError('BER', `value of tag 0x${tag.toString(16)} needs ${len} bytes, ${bytes.length - pos} left`);
    out.push({ tag, value: bytes.subarray(pos, pos + len) });
    pos += len;
  }
  return out;
}

/** Reads one TLV that must have tag `tag` and fill `bytes`. */
export function readOne(bytes: Uint8Array, tag: number, what: string): Uint8Array {
  const tlvs = readTlvs(bytes);
  if (tlvs.length !== 1 || tlvs[0]!.tag !== tag) throw new DlmsError('BER', `${what}: expected one element with tag 0x${tag.toString(16)}`);
  return tlvs[0]!.value;
}

export function tlv(tag: number, value: Uint8Array): Uint8Array {
  const id = tag > 0xff ? [tag >> 8, tag & 0xff] : [tag];
  const len = encodeLength(value.length);
  const out = new Uint8Array(id.length + len.length + value.length);
  out.set(id);
  out.set(len, id.length);
  out.set(value, id.length + len.length);
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** X.690 §8.19: OBJECT IDENTIFIER contents (first two arcs as 40·a + b, then base-128 arcs). */
export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0) || arcs[0]! > 2 || (arcs[0]! < 2 && arcs[1]! > 39)) {
    throw new DlmsError('VALUE', `not an object identifier: ${oid}`);
  }
  const out: number[] = [];
  for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
    const group: number[] = [arc % 128];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) group.unshift(0x80 | v % 128);
    out.push(...group);
  }
  return Uint8Array.from(out);
}

export function decodeOid(b: Uint8Array): string {
  if (b.length === 0 || (b[b.length - 1]! & 0x80) !== 0) throw new DlmsError('BER', 'object identifier cut short');
  const arcs: number[] = [];
  let v = 0;
  for (const x of b) {
    v = v * 128 + (x & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw new DlmsError('BER', 'object identifier arc too large');
    if ((x & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs.shift()!;
  const a = first < 80 ? Math.floor(first / 40) : 2;
  return [a, first - 40 * a, ...arcs].join('.');
}

/** X.690 §8.3: a non-negative INTEGER from its content octets (DLMS ACSE integers are small). */
export function decodeUint(b: Uint8Array, what: string): number {
  if (b.length === 0 || b.length > 4) throw new DlmsError('BER', `${what}: integer of ${b.length} octets`);
  return b.reduce((v, x) => v * 256 + x, 0);
}
