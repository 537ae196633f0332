// A-XDR decoding of the COSEM Data CHOICE (IEC 62056-5-3 §8; encoding rules of IEC 61334-6 A-XDR):
// one tag octet, then the value — fixed-size types big-endian with no length, variable-size types after a
// length (octets, bits or elements). Pure; hostile input only ever yields a DlmsError: the nesting depth and
// the element count are limited, and no count is believed beyond the bytes that could hold it.
import { DlmsError } from '../errors.js';
import { decodeLength } from './length.js';
import {
  COMPACT_ARRAY_TAG,
  DEFAULT_LIMITS,
  FIXED_OCTETS,
  SMALL_INT,
  TYPE_OF_TAG,
  isSmallInt,
  type Data,
  type DataLimits,
} from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Recursion is bounded by maxDepth; this caps what a caller may ask for, far below any stack limit. */
export const MAX_DEPTH_CAP = 256;

// ISO 8859-1, byte for byte (TextDecoder's 'latin1' is windows-1252, which differs in 0x80..0x9F).
const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

class Reader {
  pos: number;
  elements = 0;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly limits: Required<DataLimits>,
  ) {
    this.pos = start;
  }

  take(n: number, what: string): Uint8Array {
    if (this.pos + n > this.bytes.length) {
      throw new DlmsError('SHORT', `${what}: ${n} bytes needed at offset ${this.pos}, ${this.bytes.length - this.pos} left`);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  view(n: number, what: string): DataView {
    const b = this.take(n, what);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  length(what: string): number {
    const [n, next] = decodeLength(this.bytes, this.pos);
    this.pos = next;
    if (n > this.bytes.length - this.pos) throw new DlmsError('LENGTH', `${what}: length ${n} exceeds the ${this.bytes.length - this.pos} bytes left`);
    return n;
  }

  data(depth: number): Data {
    const at = this.pos;
    const tag = this.take(1, 'type tag')[0]!;
    const type = TYPE_OF_TAG.get(tag);
    if (type === undefined) {
      if (tag === COMPACT_ARRAY_TAG) throw new DlmsError('UNSUPPORTED', `compact-array at offset ${at} is not supported`);
      throw new DlmsError('AXDR', `unknown Data type tag ${tag} at offset ${at}`);
    }
    if (isSmallInt(type)) {
      const { size, signed } = SMALL_INT[type];
      const v = this.view(size, type);
      const value = size === 1 ? (signed ? v.getInt8(0) : v.getUint8(0)) : size === 2 ? (signed ? v.getInt16(0) : v.getUint16(0)) : signed ? v.getInt32(0) : v.getUint32(0);
      return { type, value };
    }
    switch (type) {
      case 'null-data':
      case 'dont-care':
        return { type };
      case 'array':
      case 'structure': {
        // IEC 62056-5-3 §8: array and structure are SEQUENCE OF Data, preceded by the element count.
        if (depth >= this.limits.maxDepth) throw new DlmsError('LIMIT', `nesting deeper than ${this.limits.maxDepth} at offset ${at}`);
        const count = this.length(`${type} element count`); // each element takes at least its tag octet
        this.elements += count;
        if (this.elements > this.limits.maxElements) throw new DlmsError('LIMIT', `more than ${this.limits.maxElements} elements`);
        const value: Data[] = [];
        for (let i = 0; i < count; i++) value.push(this.data(depth + 1));
        return { type, value };
      }
      case 'boolean':
        return { type, value: this.take(1, type)[0] !== 0 }; // A-XDR BOOLEAN: one octet, FALSE = 0
      case 'bit-string': {
        // the length counts bits; the bits follow in ceil(n/8) octets (IEC 61334-6 A-XDR BIT STRING)
        const [bits, next] = decodeLength(this.bytes, this.pos);
        this.pos = next;
        return { type, value: this.take(Math.ceil(bits / 8), type).slice(), length: bits };
      }
      case 'octet-string':
        return { type, value: this.take(this.length(type), type).slice() };
      case 'visible-string':
        return { type, value: latin1(this.take(this.length(type), type)) };
      case 'utf8-string': {
        const raw = this.take(this.length(type), type);
        try {
          return { type, value: utf8.decode(raw) };
        } catch (err) {
          throw new DlmsError('AXDR', `utf8-string at offset ${at} is not valid UTF-8`, { cause: err });
        }
      }
      case 'long64':
        return { type, value: this.view(8, type).getBigInt64(0) };
      case 'long64-unsigned':
        return { type, value: this.view(8, type).getBigUint64(0) };
      case 'float32':
        return { type, value: this.view(4, type).getFloat32(0) }; // IEEE 754 single, big-endian
      case 'float64':
        return { type, value: this.view(8, type).getFloat64(0) };
      case 'date-time':
      case 'date':
      case 'time':
        return { type, value: this.take(FIXED_OCTETS[type], type).slice() };
      default:
        throw new DlmsError('AXDR', `unhandled type ${type}`);
    }
  }
}

/** Decodes one Data value from the start of `bytes`; `rest` is what follows it (a view, not a copy). */
export function decodeData(bytes: Uint8Array, limits: DataLimits = {}): { value: Data; rest: Uint8Array } {
  const l = { ...DEFAULT_LIMITS, ...limits };
  const r = new Reader(bytes, 0, { maxDepth: Math.min(l.maxDepth, MAX_DEPTH_CAP), maxElements: l.maxElements });
  const value = r.data(0);
  return { value, rest: bytes.subarray(r.pos) };
}

/** Decodes exactly one Data value: LENGTH if bytes are left over. */
export function parseData(bytes: Uint8Array, limits: DataLimits = {}): Data {
  const { value, rest } = decodeData(bytes, limits);
  if (rest.length > 0) throw new DlmsError('LENGTH', `${rest.length} bytes after the Data value`);
  return value;
}
