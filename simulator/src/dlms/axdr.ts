// The A-XDR "Data" values the simulated meter sends and parses (IEC 62056-5-3 §8, Data CHOICE; IEC 61334-6
// length encoding), a subset written for the simulator on its own.
import { SimulatorError } from '../errors.js';

export type IntType = 'integer' | 'long' | 'double-long' | 'unsigned' | 'long-unsigned' | 'double-long-unsigned' | 'long64' | 'long64-unsigned' | 'enum';
export type Val =
  | { type: 'null-data' }
  | { type: 'array' | 'structure'; items: Val[] }
  | { type: 'boolean'; value: boolean }
  | { type: 'octet-string'; bytes: Uint8Array }
  | { type: 'visible-string'; text: string }
  | { type: IntType; value: bigint };

// IEC 62056-5-3 §8: Data ::= CHOICE { null-data [0], array [1], structure [2], boolean [3], double-long [5],
// double-long-unsigned [6], octet-string [9], visible-string [10], integer [15], long [16], unsigned [17],
// long-unsigned [18], long64 [20], long64-unsigned [21], enum [22] }
const INT: Record<IntType, { tag: number; size: number; signed: boolean }> = {
  'double-long': { tag: 5, size: 4, signed: true },
  'double-long-unsigned': { tag: 6, size: 4, signed: false },
  integer: { tag: 15, size: 1, signed: true },
  long: { tag: 16, size: 2, signed: true },
  unsigned: { tag: 17, size: 1, signed: false },
  'long-unsigned': { tag: 18, size: 2, signed: false },
  long64: { tag: 20, size: 8, signed: true },
  'long64-unsigned': { tag: 21, size: 8, signed: false },
  enum: { tag: 22, size: 1, signed: false },
};
const INT_BY_TAG = new Map(Object.entries(INT).map(([k, v]) => [v.tag, k as IntType]));

export const int = (type: IntType, value: number | bigint): Val => ({ type, value: BigInt(value) });
export const octets = (bytes: Uint8Array): Val => ({ type: 'octet-string', bytes });
export const struct = (...items: Val[]): Val => ({ type: 'structure', items });

/** A-XDR length (IEC 61334-6): < 128 in one byte, else 0x80 | n followed by n bytes. */
export function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

export function encodeVal(v: Val, out: number[] = []): number[] {
  switch (v.type) {
    case 'null-data':
      out.push(0);
      break;
    case 'array':
    case 'structure':
      out.push(v.type === 'array' ? 1 : 2, ...lengthBytes(v.items.length));
      for (const item of v.items) encodeVal(item, out);
      break;
    case 'boolean':
      out.push(3, v.value ? 1 : 0);
      break;
    case 'octet-string':
      out.push(9, ...lengthBytes(v.bytes.length), ...v.bytes);
      break;
    case 'visible-string': {
      const bytes = Buffer.from(v.text, 'latin1');
      out.push(10, ...lengthBytes(bytes.length), ...bytes);
      break;
    }
    default: {
      const { tag, size, signed } = INT[v.type];
      const bits = BigInt(size * 8);
      const min = signed ? -(1n << (bits - 1n)) : 0n;
      const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
      if (v.value < min || v.value > max) throw new SimulatorError('AXDR', `${v.value} does not fit ${v.type}`);
      let u = BigInt.asUintN(size * 8, v.value);
      const bytes: number[] = [];
      for (let i = 0; i < size; i++, u >>= 8n) bytes.unshift(Number(u & 0xffn));
      out.push(tag, ...bytes);
    }
  }
  return out;
}

export const encode = (v: Val): Uint8Array => Uint8Array.from(encodeVal(v));

/** Decodes one Data value at `at`; SimulatorError AXDR for anything malformed or too deep/large. */
export function decodeVal(b: Uint8Array, at = 0, depth = 0, budget = { elements: 10_000 }): { value: Val; next: number } {
  if (depth > 16) throw new SimulatorError('AXDR', 'Data nested too deep');
  const tag = b[at];
  if (tag === undefined) throw new SimulatorError('AXDR', 'Data cut short');
  const need = (n: number, p: number) => {
    if (p + n > b.length) throw new SimulatorError('AXDR', 'Data cut short');
  };
  const length = (p: number): [number, number] => {
    need(1, p);
    const first = b[p]!;
    if (first < 0x80) return [first, p + 1];
    const n = first & 0x7f;
    if (n === 0 || n > 3) throw new SimulatorError('AXDR', 'bad A-XDR length');
    need(n, p + 1);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + b[p + 1 + i]!;
    return [v, p + 1 + n];
  };
  if (tag === 0) return { value: { type: 'null-data' }, next: at + 1 };
  if (tag === 1 || tag === 2) {
    const [n, p0] = length(at + 1);
    budget.elements -= n;
    if (budget.elements < 0 || n > b.length) throw new SimulatorError('AXDR', 'too many elements');
    const items: Val[] = [];
    let p = p0;
    for (let i = 0; i < n; i++) {
      const r = decodeVal(b, p, depth + 1, budget);
      items.push(r.value);
      p = r.next;
    }
    return { value: { type: tag === 1 ? 'array' : 'structure', items }, next: p };
  }
  if (tag === 3) {
    need(1, at + 1);
    return { value: { type: 'boolean', value: b[at + 1] !== 0 }, next: at + 2 };
  }
  if (tag === 9 || tag === 10) {
    const [n, p] = length(at + 1);
    need(n, p);
    const bytes = b.slice(p, p + n);
    return { value: tag === 9 ? { type: 'octet-string', bytes } : { type: 'visible-string', text: Buffer.from(bytes).toString('latin1') }, next: p + n };
  }
  if (tag === 25) {
    need(12, at + 1); // date-time [25], 12 octets: kept as an octet-string
    return { value: { type: 'octet-string', bytes: b.slice(at + 1, at + 13) }, next: at + 13 };
  }
  const type = INT_BY_TAG.get(tag);
  if (!type) throw new SimulatorError('AXDR', `unsupported Data tag ${tag}`);
  const { size, signed } = INT[type];
  need(size, at + 1);
  let u = 0n;
  for (let i = 0; i < size; i++) u = (u << 8n) | BigInt(b[at + 1 + i]!);
  return { value: { type, value: signed ? BigInt.asIntN(size * 8, u) : u }, next: at + 1 + size };
}

/** COSEM date-time (IEC 62056-6-2 §4.1.6.1) of a UTC instant, deviation 0 (local time = UTC), given status. */
export function dateTime(ms: number, status = 0x00): Uint8Array {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const dow = ((d.getUTCDay() + 6) % 7) + 1; // 1 = Monday … 7 = Sunday
  return Uint8Array.of(y >> 8, y & 0xff, d.getUTCMonth() + 1, d.getUTCDate(), dow, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), Math.floor(d.getUTCMilliseconds() / 10), 0x00, 0x00, status);
}

/** The UTC instant of a date-time the client sent (deviation honoured; 0x8000 = not specified = UTC here). */
export function dateTimeMs(b: Uint8Array): number {
  if (b.length !== 12) throw new SimulatorError('AXDR', 'date-time is not 12 octets');
  const y = (b[0]! << 8) | b[1]!;
  const dev = (b[9]! << 8) | b[10]!;
  const ms = Date.UTC(y, b[2]! - 1, b[3]!, b[5]! === 0xff ? 0 : b[5]!, b[6]! === 0xff ? 0 : b[6]!, b[7]! === 0xff ? 0 : b[7]!);
  if (!Number.isFinite(ms) || y === 0xffff || b[2]! > 12 || b[3]! > 31) throw new SimulatorError('AXDR', 'date-time is not a point in time');
  // Blue Book (IEC 62056-6-2 §4.1.6.1): deviation = minutes local time is behind UTC (UTC = local + deviation).
  return dev === 0x8000 ? ms : ms + ((dev << 16) >> 16) * 60_000;
}
