// Reading record v2 (docs/protocol.md §3): what the meter measured, who the meter says it is and what its
// own clock said, salted, canonical. Version 1 records (no meter identity or clock detail) still decode.
import { Reader, Writer } from './codec.js';
import { ProtocolError } from './errors.js';
import { sha256 } from './hash.js';
import { utf8 } from './bytes.js';
import { assertMeterId } from './meter-id.js';
import { RecordType, VERSION_1 } from './record-types.js';
import { unitCode, unitName, type Unit } from './units.js';
import { formatObis, parseObis } from './obis.js';

export const SALT_LENGTH = 16;
export const MAX_REGISTERS = 64;
/** docs/protocol.md §3: version 2 adds meterIdentity, meterClockDeviationMin and meterClockStatus. */
export const READING_VERSION_2 = 0x02;
/** The longest meter identity a reading carries, in UTF-8 bytes. */
export const MAX_METER_IDENTITY_BYTES = 128;

/** The agent's knowledge of its own clock when it stamped the reading. */
export const ClockSync = { Unknown: 0, Synchronised: 1, Unsynchronised: 2 } as const;
export type ClockSyncState = (typeof ClockSync)[keyof typeof ClockSync];

/** Status flags (bit positions in a u32), docs/protocol.md §3. Bits 3-6 are computed by the agent (v2). */
export const StatusFlag = {
  MeterTimeUnavailable: 1 << 0, // the meter has no clock register; meterTimeMs is absent
  ReadRetried: 1 << 1, // the serial read needed a retry
  Estimated: 1 << 2, // a value was estimated, not measured
  RegisterWentBackwards: 1 << 3, // an energy register is below its previous value (and did not wrap past its rollover)
  JumpBeyondPhysicalMaximum: 1 << 4, // an energy register rose faster than the meter's maximum power allows
  MeterClockDriftBeyondTolerance: 1 << 5, // |meterTime - agentTime| exceeds the configured tolerance
  MeterClockSet: 1 << 6, // the agent set the meter's clock since the previous reading
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
  /**
   * Present (1) only on a reading decoded from version 1 bytes, so that re-encoding it gives back the same
   * bytes and hash. New readings leave it out and are encoded as version 2.
   */
  version?: 1;
  meterId: string;
  /** Strictly increasing per meter, never repeated (uint64). */
  seq: bigint;
  /** The meter's own clock as it reported it (UTC epoch ms), or null if the meter has no clock. */
  meterTimeMs: bigint | null;
  /** The meter's identity as read from the meter (serial number, DL/T 645 address, DLMS device id), or null. */
  meterIdentity: string | null;
  /** The meter clock's deviation of local time from UTC in minutes (DLMS clock deviation, i16), or null. */
  meterClockDeviationMin: number | null;
  /** The meter's clock status byte (DLMS clock_status, u8), or null. */
  meterClockStatus: number | null;
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

/** docs/protocol.md §3: 1..128 UTF-8 bytes, no control characters (it is shown in logs and dashboards). */
export function assertMeterIdentity(identity: string): void {
  const n = utf8.encode(identity).length;
  // eslint-disable-next-line no-control-regex
  if (n === 0 || n > MAX_METER_IDENTITY_BYTES || /[\u0000-\u001f\u007f-\u009f]/.test(identity)) {
    throw new ProtocolError('BAD_METER_IDENTITY', `meter identity must be 1..${MAX_METER_IDENTITY_BYTES} UTF-8 bytes without control characters`);
  }
}

function writeV2Fields(w: Writer, r: Reading): void {
  if (r.meterIdentity === null) w.u8(0);
  else {
    assertMeterIdentity(r.meterIdentity);
    w.u8(1).str8(r.meterIdentity);
  }
  const dev = r.meterClockDeviationMin;
  if (dev === null) w.u8(0);
  else {
    if (!Number.isInteger(dev) || dev < -32768 || dev > 32767) throw new ProtocolError('RANGE', `i16 out of range: ${dev}`);
    w.u8(1).u16(dev & 0xffff); // i16, two's complement big-endian (§2.2)
  }
  if (r.meterClockStatus === null) w.u8(0);
  else w.u8(1).u8(r.meterClockStatus);
}

export function encodeReading(r: Reading): Uint8Array {
  assertMeterId(r.meterId);
  if (r.registers.length === 0 || r.registers.length > MAX_REGISTERS) {
    throw new ProtocolError('BAD_READING', `a reading carries 1..${MAX_REGISTERS} registers, got ${r.registers.length}`);
  }
  const v1 = r.version === 1;
  if (v1 && (r.meterIdentity !== null || r.meterClockDeviationMin !== null || r.meterClockStatus !== null)) {
    throw new ProtocolError('BAD_READING', 'a version 1 reading cannot carry meter identity or clock detail');
  }
  const w = new Writer().u8(RecordType.Reading).u8(v1 ? VERSION_1 : READING_VERSION_2).str8(r.meterId).u64(r.seq);
  if (r.meterTimeMs === null) w.u8(0);
  else w.u8(1).i64(r.meterTimeMs);
  if (!v1) writeV2Fields(w, r);
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

function presence(rd: Reader, field: string): boolean {
  const p = rd.u8(`${field} presence`);
  if (p > 1) throw new ProtocolError('BAD_READING', `${field} presence byte must be 0 or 1`);
  return p === 1;
}

export function decodeReading(bytes: Uint8Array): Reading {
  const rd = new Reader(bytes, 'reading');
  const type = rd.u8('type');
  const version = rd.u8('version');
  if (type !== RecordType.Reading) throw new ProtocolError('WRONG_TYPE', `not a reading record (type 0x${type.toString(16)})`);
  if (version !== VERSION_1 && version !== READING_VERSION_2) throw new ProtocolError('BAD_VERSION', `unsupported reading version ${version}`);
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const seq = rd.u64('seq');
  const meterTimeMs = presence(rd, 'meterTime') ? rd.i64('meterTimeMs') : null;
  let meterIdentity: string | null = null;
  let meterClockDeviationMin: number | null = null;
  let meterClockStatus: number | null = null;
  if (version === READING_VERSION_2) {
    if (presence(rd, 'meterIdentity')) {
      meterIdentity = rd.str8('meterIdentity');
      assertMeterIdentity(meterIdentity);
    }
    if (presence(rd, 'meterClockDeviation')) {
      const u = rd.u16('meterClockDeviationMin');
      meterClockDeviationMin = u >= 0x8000 ? u - 0x10000 : u; // i16 (§2.2)
    }
    if (presence(rd, 'meterClockStatus')) meterClockStatus = rd.u8('meterClockStatus');
  }
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
  const reading: Reading = {
    meterId, seq, meterTimeMs, meterIdentity, meterClockDeviationMin, meterClockStatus,
    agentTimeMs, clockSync: clockSync as ClockSyncState, status, registers, salt,
  };
  return version === VERSION_1 ? { version: 1, ...reading } : reading;
}

/** The reading hash the meter signs (inside an anchor): SHA-256 over the canonical encoding, salt included. */
export function readingHash(encodedReading: Uint8Array): Uint8Array {
  return sha256(encodedReading);
}
