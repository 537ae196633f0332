// The COSEM "Data" CHOICE (IEC 62056-5-3 §8, COSEM APDU abstract syntax; data types of IEC 62056-6-2 §4.1.5
// "Common data types"), as a tagged union. Every value carries its DLMS type so it re-encodes unchanged.

/** Integer types that fit a JavaScript number exactly. */
export type SmallIntType =
  | 'integer' // Integer8
  | 'long' // Integer16
  | 'double-long' // Integer32
  | 'unsigned' // Unsigned8
  | 'long-unsigned' // Unsigned16
  | 'double-long-unsigned' // Unsigned32
  | 'enum' // ENUMERATED, one octet 0..255
  | 'bcd'; // Integer8 (IEC 62056-5-3 §8: bcd [13] IMPLICIT Integer8)

export type Data =
  | { type: 'null-data' }
  | { type: 'dont-care' }
  | { type: 'array'; value: Data[] }
  | { type: 'structure'; value: Data[] }
  | { type: 'boolean'; value: boolean }
  /** `length` is the number of bits; `value` holds ceil(length / 8) bytes, first bit = MSB of byte 0. */
  | { type: 'bit-string'; value: Uint8Array; length: number }
  | { type: SmallIntType; value: number }
  | { type: 'long64' | 'long64-unsigned'; value: bigint }
  | { type: 'float32' | 'float64'; value: number }
  /** date-time, date and time are the fixed-size OCTET STRINGs (12, 5, 4 bytes) of IEC 62056-6-2 §4.1.6.1. */
  | { type: 'octet-string' | 'date-time' | 'date' | 'time'; value: Uint8Array }
  /** visible-string is decoded byte for byte (ISO 8859-1), utf8-string as UTF-8. */
  | { type: 'visible-string' | 'utf8-string'; value: string };

export type DataType = Data['type'];

// IEC 62056-5-3 §8, Data ::= CHOICE { null-data [0], array [1], structure [2], boolean [3], bit-string [4],
// double-long [5], double-long-unsigned [6], octet-string [9], visible-string [10], utf8-string [12],
// bcd [13], integer [15], long [16], unsigned [17], long-unsigned [18], compact-array [19], long64 [20],
// long64-unsigned [21], enum [22], float32 [23], float64 [24], date-time [25], date [26], time [27],
// dont-care [255] }.
export const DATA_TAG = {
  'null-data': 0,
  array: 1,
  structure: 2,
  boolean: 3,
  'bit-string': 4,
  'double-long': 5,
  'double-long-unsigned': 6,
  'octet-string': 9,
  'visible-string': 10,
  'utf8-string': 12,
  bcd: 13,
  integer: 15,
  long: 16,
  unsigned: 17,
  'long-unsigned': 18,
  long64: 20,
  'long64-unsigned': 21,
  enum: 22,
  float32: 23,
  float64: 24,
  'date-time': 25,
  date: 26,
  time: 27,
  'dont-care': 255,
} as const satisfies Record<DataType, number>;

export const COMPACT_ARRAY_TAG = 19;

export const TYPE_OF_TAG: ReadonlyMap<number, DataType> = new Map(
  Object.entries(DATA_TAG).map(([k, v]) => [v, k as DataType]),
);

/** Size in bytes and signedness of the fixed-size integer types (A-XDR: big-endian, two's complement). */
export const SMALL_INT: Readonly<Record<SmallIntType, { size: 1 | 2 | 4; signed: boolean }>> = {
  integer: { size: 1, signed: true },
  long: { size: 2, signed: true },
  'double-long': { size: 4, signed: true },
  unsigned: { size: 1, signed: false },
  'long-unsigned': { size: 2, signed: false },
  'double-long-unsigned': { size: 4, signed: false },
  enum: { size: 1, signed: false },
  bcd: { size: 1, signed: true },
};

/** IEC 62056-6-2 §4.1.6.1: date-time 12 octets, date 5, time 4 (fixed size: no length octet). */
export const FIXED_OCTETS = { 'date-time': 12, date: 5, time: 4 } as const;

export function isSmallInt(t: DataType): t is SmallIntType {
  return Object.hasOwn(SMALL_INT, t);
}

/** Limits on hostile input; the defaults bound the work to the size of the input. */
export interface DataLimits {
  /** Deepest nesting of arrays and structures; default 32. */
  maxDepth?: number;
  /** Most array/structure elements in one value, all levels together; default 1 000 000. */
  maxElements?: number;
}

export const DEFAULT_LIMITS: Readonly<Required<DataLimits>> = Object.freeze({ maxDepth: 32, maxElements: 1_000_000 });
