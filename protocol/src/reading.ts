// Reading record v1 (docs/protocol.md §3): what the meter measured, salted, canonical.
import { Reader, Writer } from './codec.js';
import { ProtocolError } from './errors.js';
import { sha256 } from './hash.js';
import { assertMeterId } from './meter-id.js';
import { RecordType, VERSION_1 } from './record-types.js';
import { unitCode, unitName, type Unit } from './units.js';
import { formatObis, parseObis } from './obis.js';

export const SALT_LENGTH = 16;
export const MAX_REGISTERS = 64;

/** The agent's knowledge of its own clock when it stamped the reading. */
export const ClockSync = { Unknown: 0, Synchronised: 1, Unsynchronised: 2 } as const;
export type ClockSyncState = (typeof ClockSync)[keyof typeof ClockSync];

/** Status flags (bit positions in a u32). */
export const StatusFlag = {
  MeterTimeUnavailable: 1 << 0, // the meter has no clock register; meterTimeMs is absent
  ReadRetried: 1 << 1, // the serial read needed a retry
  Estimated: 1 << 2, // a value was estimated, not measured
} as const;

export interface RegisterValue {
  /** OBIS code, e.g. "1.0.1.8.0.255". */
  obis: string;
  /** Integer value; physical value = value × 10^scaler unit. */
  value: bigint;
  scaler: number;
  unit: Unit;
  /** The register bytes exactly as read from the meter. */
  raw: Uint8Array;
}

export interface Reading {
  meterId: string;
  /** Strictly increasing per meter, never repeated (uint64). */
  seq: bigint;
  /** The meter's own clock as it reported it (UTC epoch ms), or null if the meter has no clock. */
  meterTimeMs: bigint | null;
  /** The agent's clock (UTC epoch ms) when it took the reading. */
  agentTimeMs: bigint;
  clockSync: ClockSyncState;
  status: number;
  /** Sorted by OBIS code, each code at most once. */
  registers: RegisterValue[];
  /** 16 random bytes so that the reading's hash reveals nothing about consumption. */
  salt: Uint8Array;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Sorts registers into canonical (OBIS) order; the device calls this before encoding. */
export function sortRegisters(registers: RegisterValue[]): RegisterValue[] {
  return [...registers].sort((x, y) => compareBytes(parseObis(x.obis), parseObis(y.obis)));
}

export function encodeReading(r: Reading): Uint8Array {
  assertMeterId(r.meterId);
  if (r.registers.length === 0 || r.registers.length > MAX_REGISTERS) {
    throw new ProtocolError('BAD_READING', `a reading carries 1..${MAX_REGISTERS} registers, got ${r.registers.length}`);
  }
  const w = new Writer().u8(RecordType.Reading).u8(VERSION_1).str8(r.meterId).u64(r.seq);
  if (r.meterTimeMs === null) w.u8(0);
  else w.u8(1).i64(r.meterTimeMs);
  w.i64(r.agentTimeMs).u8(r.clockSync).u32(r.status).u8(r.registers.length);
  let prev: Uint8Array | null = null;
  for (const reg of r.registers) {
    const obis = parseObis(reg.obis);
    if (prev && compareBytes(prev, obis) >= 0) {
      throw new ProtocolError('BAD_READING', `registers must be in strictly increasing OBIS order (at ${reg.obis})`);
    }
    prev = obis;
    w.fixed(obis, 6).i64(reg.value).i8(reg.scaler).u8(unitCode(reg.unit)).bytes8(reg.raw);
  }
  return w.fixed(r.salt, SALT_LENGTH).finish();
}

export function decodeReading(bytes: Uint8Array): Reading {
  const rd = new Reader(bytes, 'reading');
  const type = rd.u8('type');
  const version = rd.u8('version');
  if (type !== RecordType.Reading) throw new ProtocolError('WRONG_TYPE', `not a reading record (type 0x${type.toString(16)})`);
  if (version !== VERSION_1) throw new ProtocolError('BAD_VERSION', `unsupported reading version ${version}`);
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const seq = rd.u64('seq');
  const hasMeterTime = rd.u8('meterTime presence');
  if (hasMeterTime > 1) throw new ProtocolError('BAD_READING', 'meterTime presence byte must be 0 or 1');
  const meterTimeMs = hasMeterTime ? rd.i64('meterTimeMs') : null;
  const agentTimeMs = rd.i64('agentTimeMs');
  const clockSync = rd.u8('clockSync');
  if (clockSync > 2) throw new ProtocolError('BAD_READING', `unknown clockSync state ${clockSync}`);
  const status = rd.u32('status');
  const count = rd.u8('register count');
  if (count === 0 || count > MAX_REGISTERS) throw new ProtocolError('BAD_READING', `register count ${count} out of range`);
  const registers: RegisterValue[] = [];
  let prev: Uint8Array | null = null;
  for (let i = 0; i < count; i++) {
    const obis = rd.fixed(6, `register ${i} obis`);
    if (prev && compareBytes(prev, obis) >= 0) throw new ProtocolError('BAD_READING', 'registers not in OBIS order');
    prev = obis;
    const value = rd.i64(`register ${i} value`);
    const scaler = rd.i8(`register ${i} scaler`);
    const unit = unitName(rd.u8(`register ${i} unit`));
    const raw = rd.bytes8(`register ${i} raw`);
    registers.push({ obis: formatObis(obis), value, scaler, unit, raw });
  }
  const salt = rd.fixed(SALT_LENGTH, 'salt');
  rd.end();
  return { meterId, seq, meterTimeMs, agentTimeMs, clockSync: clockSync as ClockSyncState, status, registers, salt };
}

/** The reading hash the meter signs (inside an anchor): SHA-256 over the canonical encoding, salt included. */
export function readingHash(encodedReading: Uint8Array): Uint8Array {
  return sha256(encodedReading);
}
