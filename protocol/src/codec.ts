// Canonical big-endian binary encoding shared by every MeterSeal record (docs/protocol.md §2).
// One value has exactly one encoding: fixed-width integers, length-prefixed byte strings, no optional padding.
import { ProtocolError } from './errors.js';
import { utf8 } from './bytes.js';

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

export class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new ProtocolError('RANGE', `u8 out of range: ${v}`);
    this.ensure(1);
    this.buf[this.len++] = v;
    return this;
  }
  i8(v: number): this {
    if (!Number.isInteger(v) || v < -128 || v > 127) throw new ProtocolError('RANGE', `i8 out of range: ${v}`);
    return this.u8(v & 0xff);
  }
  u16(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new ProtocolError('RANGE', `u16 out of range: ${v}`);
    this.ensure(2);
    this.view.setUint16(this.len, v);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new ProtocolError('RANGE', `u32 out of range: ${v}`);
    this.ensure(4);
    this.view.setUint32(this.len, v);
    this.len += 4;
    return this;
  }
  u64(v: bigint): this {
    if (v < 0n || v > U64_MAX) throw new ProtocolError('RANGE', `u64 out of range: ${v}`);
    this.ensure(8);
    this.view.setBigUint64(this.len, v);
    this.len += 8;
    return this;
  }
  i64(v: bigint): this {
    if (v < I64_MIN || v > I64_MAX) throw new ProtocolError('RANGE', `i64 out of range: ${v}`);
    this.ensure(8);
    this.view.setBigInt64(this.len, v);
    this.len += 8;
    return this;
  }
  /** Fixed-length bytes: the length is implied by the field, not written. */
  fixed(b: Uint8Array, length: number): this {
    if (b.length !== length) throw new ProtocolError('BAD_LENGTH', `expected ${length} bytes, got ${b.length}`);
    this.ensure(length);
    this.buf.set(b, this.len);
    this.len += length;
    return this;
  }
  /** Variable bytes with a u8 length prefix. */
  bytes8(b: Uint8Array): this {
    this.u8(b.length);
    return this.fixed(b, b.length);
  }
  /** Variable bytes with a u16 length prefix. */
  bytes16(b: Uint8Array): this {
    this.u16(b.length);
    return this.fixed(b, b.length);
  }
  /** UTF-8 string with a u8 length prefix. */
  str8(s: string): this {
    return this.bytes8(utf8.encode(s));
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export class Reader {
  private off = 0;
  private readonly view: DataView;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number, field: string): void {
    if (this.off + n > this.buf.length) {
      throw new ProtocolError('TRUNCATED', `${this.what}: truncated at ${field} (offset ${this.off}, need ${n} bytes)`);
    }
  }
  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.off++]!;
  }
  i8(field: string): number {
    const v = this.u8(field);
    return v > 127 ? v - 256 : v;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.off);
    this.off += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.off);
    this.off += 4;
    return v;
  }
  u64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.off);
    this.off += 8;
    return v;
  }
  i64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigInt64(this.off);
    this.off += 8;
    return v;
  }
  fixed(length: number, field: string): Uint8Array {
    this.need(length, field);
    const out = this.buf.slice(this.off, this.off + length);
    this.off += length;
    return out;
  }
  bytes8(field: string): Uint8Array {
    return this.fixed(this.u8(field), field);
  }
  bytes16(field: string): Uint8Array {
    return this.fixed(this.u16(field), field);
  }
  str8(field: string): string {
    const b = this.bytes8(field);
    try {
      return utf8.decode(b);
    } catch (cause) {
      throw new ProtocolError('BAD_UTF8', `${this.what}: ${field} is not valid UTF-8`, { cause });
    }
  }
  /** Bytes not read yet (for a record with an optional trailing field). */
  get remaining(): number {
    return this.buf.length - this.off;
  }
  /** Canonical encodings have no trailing bytes. */
  end(): void {
    if (this.off !== this.buf.length) {
      throw new ProtocolError('TRAILING_BYTES', `${this.what}: ${this.buf.length - this.off} unexpected trailing bytes`);
    }
  }
}
