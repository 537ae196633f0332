// Correction record v1 (docs/protocol.md §14): "the reading at seq S of meter M, whose hash is H, should have
// read these register values, because R". A correction never edits its original: it takes its own new seq and
// is signed and anchored exactly like a reading (the anchor at its seq carries SHA-256 of the correction record,
// signed by the session key that covers that seq). It travels in a Delivery (record field = Correction, type
// 0x15) on interface 2 only; the ledger gets the ordinary signed anchor (§4) — a correction carries
// consumption, so, like a reading, it reaches the ledger only as a salted hash.
import { Reader, Writer } from './codec.js';
import { ProtocolError } from './errors.js';
import { sha256 } from './hash.js';
import { utf8 } from './bytes.js';
import { KEY_ID_LENGTH } from './ed25519.js';
import { assertMeterId } from './meter-id.js';
import { RecordType, VERSION_1 } from './record-types.js';
import { encodeAnchor, type Anchor } from './anchor.js';
import { decodeDeliveryFrame, encodeDelivery } from './delivery.js';
import { encodeSigned, signRecord } from './signed.js';
import { MAX_REGISTERS, SALT_LENGTH } from './reading.js';
import { unitCode, unitName, type Unit } from './units.js';
import { formatObis, parseObis } from './obis.js';

/** The longest correction reason, in UTF-8 bytes. */
export const MAX_CORRECTION_REASON_BYTES = 255;

/** A corrected register value: physical value = value × 10^scaler unit (no raw bytes: nothing was read). */
export interface CorrectedRegister {
  obis: string;
  value: bigint;
  scaler: number;
  unit: Unit;
}

export interface Correction {
  meterId: string;
  /** The correction's own seq (a new one, after the original's): it is anchored there. */
  seq: bigint;
  /** The reading corrected: its seq and its reading hash (SHA-256 of its canonical salted bytes). */
  originalSeq: bigint;
  originalHash: Uint8Array;
  /** The agent's clock (UTC epoch ms) when the correction was made. */
  agentTimeMs: bigint;
  /** Why: 1..255 UTF-8 bytes, no control characters (shown in dashboards). */
  reason: string;
  /** The corrected values, sorted by OBIS code, each code at most once, 1..64 of them. */
  registers: CorrectedRegister[];
  /** 16 random bytes, so the hash the ledger anchors reveals nothing about the corrected values. */
  salt: Uint8Array;
}

const bad = (message: string): never => {
  throw new ProtocolError('BAD_CORRECTION', message);
};

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function checkReason(reason: string): void {
  const n = utf8.encode(reason).length;
  // eslint-disable-next-line no-control-regex
  if (n === 0 || n > MAX_CORRECTION_REASON_BYTES || /[\u0000-\u001f\u007f-\u009f]/.test(reason)) {
    bad(`a correction reason is 1..${MAX_CORRECTION_REASON_BYTES} UTF-8 bytes without control characters`);
  }
}

function check(c: Correction): void {
  assertMeterId(c.meterId);
  if (c.originalSeq < 1n) bad('originalSeq must be >= 1 (seqs start at 1)');
  if (c.seq <= c.originalSeq) bad(`a correction's seq ${c.seq} must come after the original's ${c.originalSeq}`); // §14: its own, later seq
  if (c.originalHash.length !== 32) bad('originalHash must be 32 bytes');
  if (c.salt.length !== SALT_LENGTH) bad(`salt must be ${SALT_LENGTH} bytes`);
  checkReason(c.reason);
  if (c.registers.length === 0 || c.registers.length > MAX_REGISTERS) bad(`a correction carries 1..${MAX_REGISTERS} registers, got ${c.registers.length}`);
}

export function encodeCorrection(c: Correction): Uint8Array {
  check(c);
  const w = new Writer()
    .u8(RecordType.Correction).u8(VERSION_1)
    .str8(c.meterId).u64(c.seq).u64(c.originalSeq).fixed(c.originalHash, 32).i64(c.agentTimeMs).str8(c.reason)
    .u8(c.registers.length);
  let prev: Uint8Array | null = null;
  for (const reg of c.registers) {
    const obis = parseObis(reg.obis);
    if (prev && compareBytes(prev, obis) >= 0) bad(`registers must be in strictly increasing OBIS order (at ${reg.obis})`);
    prev = obis;
    if (!Number.isInteger(reg.scaler) || reg.scaler < -128 || reg.scaler > 127) bad(`scaler ${reg.scaler} is not an i8`);
    w.fixed(obis, 6).i64(reg.value).i8(reg.scaler).u8(unitCode(reg.unit));
  }
  return w.fixed(c.salt, SALT_LENGTH).finish();
}

/** Pure parser of outside bytes: throws ProtocolError (TRUNCATED, WRONG_TYPE, BAD_VERSION, BAD_CORRECTION, BAD_UNIT, TRAILING_BYTES, ...). */
export function decodeCorrection(bytes: Uint8Array): Correction {
  const rd = new Reader(bytes, 'correction');
  const type = rd.u8('type');
  if (type !== RecordType.Correction) throw new ProtocolError('WRONG_TYPE', `not a correction record (type 0x${type.toString(16)})`);
  const version = rd.u8('version');
  if (version !== VERSION_1) throw new ProtocolError('BAD_VERSION', `unsupported correction version ${version}`);
  const meterId = rd.str8('meterId');
  const seq = rd.u64('seq');
  const originalSeq = rd.u64('originalSeq');
  const originalHash = rd.fixed(32, 'originalHash');
  const agentTimeMs = rd.i64('agentTimeMs');
  const reason = rd.str8('reason');
  const count = rd.u8('register count');
  if (count === 0 || count > MAX_REGISTERS) bad(`register count ${count} out of range`);
  const registers: CorrectedRegister[] = [];
  let prev: Uint8Array | null = null;
  for (let i = 0; i < count; i++) {
    const obis = rd.fixed(6, `register ${i} obis`);
    if (prev && compareBytes(prev, obis) >= 0) bad('registers not in OBIS order');
    prev = obis;
    registers.push({ obis: formatObis(obis), value: rd.i64(`register ${i} value`), scaler: rd.i8(`register ${i} scaler`), unit: unitName(rd.u8(`register ${i} unit`)) });
  }
  const salt = rd.fixed(SALT_LENGTH, 'salt');
  rd.end();
  const c: Correction = { meterId, seq, originalSeq, originalHash, agentTimeMs, reason, registers, salt };
  check(c);
  return c;
}

/** The anchor that stands for a correction in the ledger: seq = the correction's seq, readingHash = SHA-256(record). */
export function anchorOfCorrection(encodedCorrection: Uint8Array, c: Correction, keyId: Uint8Array): Anchor {
  return { meterId: c.meterId, seq: c.seq, keyId, readingHash: sha256(encodedCorrection) };
}

/**
 * Signs a correction with the session key that covers its seq and returns both payloads, as for a reading:
 * `anchor` (interface 1: the signed anchor, §4) and `delivery` (interface 2: a Delivery whose record is the
 * correction and whose signature is the same one, over the anchor, §8).
 */
export function signCorrection(c: Correction, session: { keyId: Uint8Array; secretKey: Uint8Array }): { anchor: Uint8Array; delivery: Uint8Array; record: Uint8Array } {
  const record = encodeCorrection(c);
  const anchor = encodeAnchor(anchorOfCorrection(record, c, session.keyId));
  const signature = signRecord(anchor, session.secretKey);
  return { anchor: encodeSigned(anchor, signature), delivery: encodeDelivery({ keyId: session.keyId, reading: record, signature }), record };
}

export interface CorrectionDelivery {
  keyId: Uint8Array;
  /** The correction record bytes exactly as signed. */
  record: Uint8Array;
  signature: Uint8Array;
  correction: Correction;
  /** The anchor bytes the signature must verify over. */
  anchor: Uint8Array;
  /** §12.2 signer trailer (a gateway), when present. */
  signer?: string;
}

// Delivery layout (§8): type, version, keyId[8], u16 length, record, signature[64] (and an optional signer trailer).
const RECORD_OFFSET = 2 + KEY_ID_LENGTH + 2;

/** True when a Delivery carries a correction rather than a reading (looks at two type bytes only). */
export function isCorrectionDelivery(bytes: Uint8Array): boolean {
  return bytes.length > RECORD_OFFSET && bytes[0] === RecordType.Delivery && bytes[RECORD_OFFSET] === RecordType.Correction;
}

/** Pure parser of a Delivery that carries a correction. Throws ProtocolError. The signature is not checked here. */
export function decodeCorrectionDelivery(bytes: Uint8Array): CorrectionDelivery {
  const { keyId, record, signature, signer } = decodeDeliveryFrame(bytes);
  const correction = decodeCorrection(record);
  return { keyId, record, signature, correction, anchor: encodeAnchor(anchorOfCorrection(record, correction, keyId)), ...(signer !== undefined ? { signer } : {}) };
}
