// A-XDR encoding of the COSEM Data CHOICE (IEC 62056-5-3 §8; IEC 61334-6 A-XDR), the inverse of decode.ts.
// Values are checked against their type's range: a value that cannot be encoded throws VALUE.
import { DlmsError } from '../errors.js';
import { MAX_DEPTH_CAP } from './decode.js';
import { encodeLength } from './length.js';
import { DATA_TAG, FIXED_OCTETS, SMALL_INT, isSmallInt, type Data } from './types.js';

const utf8 = new TextEncoder();

class Writer {
  private chunks: Uint8Array[] = [];
  size = 0;

  push(b: Uint8Array | number[]): void {
    const u = b instanceof Uint8Array ? b : Uint8Array.from(b);
    this.chunks.push(u);
    this.size += u.length;
  }

  fixed(n: number, fill: (v: DataView) => void): void {
    const b = new Uint8Array(n);
    fill(new DataView(b.buffer));
    this.push(b);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

function bad(d: Data, why: string): DlmsError {
  return new DlmsError('VALUE', `cannot encode ${d.type}: ${why}`);
}

function write(w: Writer, d: Data, depth: number): void {
  const tag = DATA_TAG[d.type];
  if (tag === undefined) throw new DlmsError('VALUE', `unknown Data type ${String(d.type)}`);
  w.push([tag]);
  if (isSmallInt(d.type)) {
    const { size, signed } = SMALL_INT[d.type];
    const v = (d as { value: number }).value;
    const min = signed ? -(2 ** (size * 8 - 1)) : 0;
    const max = signed ? 2 ** (size * 8 - 1) - 1 : 2 ** (size * 8) - 1;
    if (!Number.isInteger(v) || v < min || v > max) throw bad(d, `${v} is not an integer in ${min}..${max}`);
    w.fixed(size, (dv) => (size === 1 ? dv.setUint8(0, v & 0xff) : size === 2 ? dv.setUint16(0, v & 0xffff) : dv.setUint32(0, v >>> 0)));
    return;
  }
  switch (d.type) {
    case 'null-data':
    case 'dont-care':
      return;
    case 'array':
    case 'structure':
      if (depth >= MAX_DEPTH_CAP) throw bad(d, `nested deeper than ${MAX_DEPTH_CAP}`);
      if (!Array.isArray(d.value)) throw bad(d, 'value is not an array');
      w.push(encodeLength(d.value.length));
      for (const e of d.value) write(w, e, depth + 1);
      return;
    case 'boolean':
      // A-XDR BOOLEAN: one octet, FALSE = 0x00; TRUE is written 0x01, as servers write last-block TRUE
      w.push([d.value ? 0x01 : 0x00]);
      return;
    case 'bit-string':
      if (!Number.isInteger(d.length) || d.length < 0 || Math.ceil(d.length / 8) !== d.value.length) {
        throw bad(d, `${d.length} bits do not fill ${d.value.length} octets`);
      }
      w.push(encodeLength(d.length));
      w.push(d.value);
      return;
    case 'octet-string':
      w.push(encodeLength(d.value.length));
      w.push(d.value);
      return;
    case 'date-time':
    case 'date':
    case 'time':
      if (d.value.length !== FIXED_OCTETS[d.type]) throw bad(d, `${d.value.length} octets instead of ${FIXED_OCTETS[d.type]}`);
      w.push(d.value);
      return;
    case 'visible-string': {
      const codes = Array.from(d.value, (c) => c.charCodeAt(0));
      if (codes.some((c) => c > 0xff)) throw bad(d, 'a character outside ISO 8859-1');
      w.push(encodeLength(codes.length));
      w.push(codes);
      return;
    }
    case 'utf8-string': {
      const b = utf8.encode(d.value);
      w.push(encodeLength(b.length));
      w.push(b);
      return;
    }
    case 'long64':
    case 'long64-unsigned': {
      const v = d.value;
      const ok = typeof v === 'bigint' && (d.type === 'long64' ? BigInt.asIntN(64, v) === v : BigInt.asUintN(64, v) === v);
      if (!ok) throw bad(d, `${String(v)} is out of range`);
      w.fixed(8, (dv) => dv.setBigUint64(0, BigInt.asUintN(64, v)));
      return;
    }
    case 'float32':
      if (typeof d.value !== 'number') throw bad(d, 'not a number');
      w.fixed(4, (dv) => dv.setFloat32(0, d.value)); // rounds to the nearest single-precision value
      return;
    case 'float64':
      if (typeof d.value !== 'number') throw bad(d, 'not a number');
      w.fixed(8, (dv) => dv.setFloat64(0, d.value));
      return;
  }
}

/** Encodes one Data value (tag and value). */
export function encodeData(d: Data): Uint8Array {
  const w = new Writer();
  write(w, d, 0);
  return w.bytes();
}
