// AirgapWindow record v1 (type 0x14): the air-gap controller's signed statement that a reconciliation window
// opened or closed. The controller signs it with its own Ed25519 key (docs/protocol.md §2.3 signing context)
// and submits it to the ledger over the ledger's side of the gap, so the ledger holds an independent record
// of every time the gap was bridged — whether or not the window itself could reach the ledger.
//
//   u8 type = 0x14, u8 version = 1, u8 event (1 open, 2 close), fixed16 windowId (RFC 9562 UUID bytes),
//   str8 reason (UTF-8, 1..200 bytes, no control characters), str8 driver (1..32 of [a-z0-9-]),
//   i64 openedAtMs, i64 closesAtMs (the hard deadline), then for event = close only:
//   i64 closedAtMs, u8 closedBy (1 requested, 2 max-duration, 3 client-gone, 4 shutdown),
//   u64 bytesToTarget, u64 bytesFromTarget, u32 refusedRequests; no trailing bytes.
import { Reader, Writer } from './codec.js';
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH } from './ed25519.js';
import { ProtocolError } from './errors.js';
import { RecordType, VERSION_1 } from './record-types.js';
import { encodeSigned, signRecord, splitSigned, verifyRecordNative } from './signed.js';

export const AIRGAP_CLOSED_BY = ['requested', 'max-duration', 'client-gone', 'shutdown'] as const;
export type AirgapClosedBy = (typeof AIRGAP_CLOSED_BY)[number];

export const AIRGAP_WINDOW_TYPE = RecordType.AirgapWindow; // 0x14
const EVENT_OPEN = 1;
const EVENT_CLOSE = 2;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DRIVER = /^[a-z0-9-]{1,32}$/;
const MAX_REASON_BYTES = 200;

export interface AirgapWindowClose {
  closedAtMs: bigint;
  closedBy: AirgapClosedBy;
  bytesToTarget: bigint;
  bytesFromTarget: bigint;
  refusedRequests: number;
}

export interface AirgapWindowRecord {
  event: 'open' | 'close';
  /** Lower-case RFC 9562 UUID text. */
  windowId: string;
  reason: string;
  driver: string;
  openedAtMs: bigint;
  closesAtMs: bigint;
  /** Present exactly when event is "close". */
  close?: AirgapWindowClose;
}

const bad = (message: string): ProtocolError => new ProtocolError('BAD_AIRGAP_WINDOW', message);

function check(w: AirgapWindowRecord): void {
  if (w.event !== 'open' && w.event !== 'close') throw bad('event must be "open" or "close"');
  if (!UUID.test(w.windowId)) throw bad('windowId must be a lower-case UUID');
  const reasonBytes = Buffer.byteLength(w.reason, 'utf8');
  // eslint-disable-next-line no-control-regex
  if (reasonBytes < 1 || reasonBytes > MAX_REASON_BYTES || /[\u0000-\u001f\u007f]/.test(w.reason)) throw bad(`reason must be 1..${MAX_REASON_BYTES} UTF-8 bytes without control characters`);
  if (!DRIVER.test(w.driver)) throw bad('driver must be 1..32 of a-z 0-9 -');
  if (w.closesAtMs < w.openedAtMs) throw bad('closesAtMs is before openedAtMs');
  if ((w.event === 'close') !== (w.close !== undefined)) throw bad('close details are present exactly on a close record');
  if (w.close) {
    if (w.close.closedAtMs < w.openedAtMs) throw bad('closedAtMs is before openedAtMs');
    if (!AIRGAP_CLOSED_BY.includes(w.close.closedBy)) throw bad('unknown closedBy');
    if (w.close.bytesToTarget < 0n || w.close.bytesFromTarget < 0n) throw bad('byte counts are unsigned');
    if (!Number.isInteger(w.close.refusedRequests) || w.close.refusedRequests < 0 || w.close.refusedRequests > 0xffffffff) throw bad('refusedRequests out of range');
  }
}

export function encodeAirgapWindow(w: AirgapWindowRecord): Uint8Array {
  check(w);
  const wr = new Writer()
    .u8(AIRGAP_WINDOW_TYPE)
    .u8(VERSION_1)
    .u8(w.event === 'open' ? EVENT_OPEN : EVENT_CLOSE)
    .fixed(Buffer.from(w.windowId.replaceAll('-', ''), 'hex'), 16) // RFC 9562 §4: the UUID's 16 octets
    .str8(w.reason)
    .str8(w.driver)
    .i64(w.openedAtMs)
    .i64(w.closesAtMs);
  if (w.close) {
    wr.i64(w.close.closedAtMs)
      .u8(AIRGAP_CLOSED_BY.indexOf(w.close.closedBy) + 1)
      .u64(w.close.bytesToTarget)
      .u64(w.close.bytesFromTarget)
      .u32(w.close.refusedRequests);
  }
  return wr.finish();
}

/** Pure parser of outside bytes: throws ProtocolError (TRUNCATED, TRAILING_BYTES, BAD_AIRGAP_WINDOW, …). */
export function decodeAirgapWindow(bytes: Uint8Array): AirgapWindowRecord {
  const r = new Reader(bytes, 'AirgapWindow');
  const type = r.u8('type');
  if (type !== AIRGAP_WINDOW_TYPE) throw new ProtocolError('WRONG_TYPE', `AirgapWindow: type byte 0x${type.toString(16)} is not 0x14`);
  const version = r.u8('version');
  if (version !== VERSION_1) throw new ProtocolError('UNSUPPORTED_VERSION', `AirgapWindow: version ${version} is not 1`);
  const ev = r.u8('event');
  if (ev !== EVENT_OPEN && ev !== EVENT_CLOSE) throw bad(`event ${ev} is not 1 (open) or 2 (close)`);
  const hex = Buffer.from(r.fixed(16, 'windowId')).toString('hex');
  const windowId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const w: AirgapWindowRecord = {
    event: ev === EVENT_OPEN ? 'open' : 'close',
    windowId,
    reason: r.str8('reason'),
    driver: r.str8('driver'),
    openedAtMs: r.i64('openedAtMs'),
    closesAtMs: r.i64('closesAtMs'),
  };
  if (ev === EVENT_CLOSE) {
    const closedAtMs = r.i64('closedAtMs');
    const by = r.u8('closedBy');
    const closedBy = AIRGAP_CLOSED_BY[by - 1];
    if (closedBy === undefined) throw bad(`closedBy ${by} is not 1..4`);
    w.close = { closedAtMs, closedBy, bytesToTarget: r.u64('bytesToTarget'), bytesFromTarget: r.u64('bytesFromTarget'), refusedRequests: r.u32('refusedRequests') };
  }
  r.end();
  check(w);
  return w;
}

/** record || Ed25519 signature over the MeterSeal signing context (docs/protocol.md §2.3). */
export function signAirgapWindow(w: AirgapWindowRecord, secretKey: Uint8Array): Uint8Array {
  const record = encodeAirgapWindow(w);
  return encodeSigned(record, signRecord(record, secretKey));
}

/** Splits, parses and checks a signed AirgapWindow against the controller's public key; throws BAD_SIGNATURE. */
export function verifyAirgapWindow(signed: Uint8Array, controllerPublicKey: Uint8Array): AirgapWindowRecord {
  if (controllerPublicKey.length !== PUBLIC_KEY_LENGTH) throw new ProtocolError('BAD_KEY', 'the controller public key must be 32 bytes');
  if (signed.length > 1024) throw bad('a signed AirgapWindow is at most 1024 bytes');
  const { record, signature } = splitSigned(signed);
  if (signature.length !== SIGNATURE_LENGTH) throw bad('no signature');
  const w = decodeAirgapWindow(record);
  if (!verifyRecordNative(record, signature, controllerPublicKey)) throw new ProtocolError('BAD_SIGNATURE', 'AirgapWindow: the signature does not verify with the controller key');
  return w;
}
