// Inclusion promise v1 (docs/protocol.md §10.4): the ledger's signed answer to an anchor, given only once the
// anchor is durable in the log. It names the anchor by its RFC 9162 leaf hash (so a receipt's inclusion proof
// starts from exactly this value) and promises that a checkpoint with the required witness cosignatures will
// cover it by `deadlineMs`. Signed with the ledger key over SIGNING_CONTEXT || record, like every record.
import { bytesEqual } from './bytes.js';
import { readHeader, writeHeader } from './header.js';
import { assertMeterId } from './meter-id.js';
import { leafHash } from './merkle/hashing.js';
import { ProtocolError } from './errors.js';
import { encodeSigned, signRecord, splitSigned, verifyRecord } from './signed.js';

export interface InclusionPromise {
  /** The log's origin (first checkpoint line): which log promised. */
  logOrigin: string;
  meterId: string;
  seq: bigint;
  /** leafHash(signed anchor entry), RFC 9162 §2.1.1: what the receipt's inclusion proof must start from. */
  anchorHash: Uint8Array;
  /** The reading hash the anchor carries. */
  readingHash: Uint8Array;
  /** The anchor's leaf index when already assigned (always, for the MeterSeal ledger, which answers after commit). */
  leafIndex: bigint | null;
  /** When the ledger issued the promise, UTC epoch ms. */
  issuedAtMs: bigint;
  /** By when a receipt must be available (issuedAt + the ledger's maximum merge delay), UTC epoch ms. */
  deadlineMs: bigint;
}

export function encodeInclusionPromise(p: InclusionPromise): Uint8Array {
  assertMeterId(p.meterId);
  if (p.deadlineMs < p.issuedAtMs) throw new ProtocolError('BAD_PROMISE', 'deadline is before the issue time');
  const w = writeHeader('InclusionPromise')
    .str8(p.logOrigin).str8(p.meterId).u64(p.seq).fixed(p.anchorHash, 32).fixed(p.readingHash, 32);
  if (p.leafIndex === null) w.u8(0);
  else w.u8(1).u64(p.leafIndex);
  return w.i64(p.issuedAtMs).i64(p.deadlineMs).finish();
}

export function decodeInclusionPromise(bytes: Uint8Array): InclusionPromise {
  const rd = readHeader(bytes, 'InclusionPromise');
  const logOrigin = rd.str8('logOrigin');
  if (logOrigin.length === 0) throw new ProtocolError('BAD_PROMISE', 'empty logOrigin');
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const seq = rd.u64('seq');
  const anchorHash = rd.fixed(32, 'anchorHash');
  const readingHash = rd.fixed(32, 'readingHash');
  const hasLeaf = rd.u8('leafIndex presence');
  if (hasLeaf > 1) throw new ProtocolError('BAD_PROMISE', 'leafIndex presence byte must be 0 or 1');
  const leafIndex = hasLeaf === 1 ? rd.u64('leafIndex') : null;
  const issuedAtMs = rd.i64('issuedAtMs');
  const deadlineMs = rd.i64('deadlineMs');
  rd.end();
  if (deadlineMs < issuedAtMs) throw new ProtocolError('BAD_PROMISE', 'deadline is before the issue time');
  return { logOrigin, meterId, seq, anchorHash, readingHash, leafIndex, issuedAtMs, deadlineMs };
}

/** record || signature, signed with the ledger key (noble; the ledger itself signs with native crypto). */
export function signInclusionPromise(p: InclusionPromise, ledgerSecretKey: Uint8Array): Uint8Array {
  const record = encodeInclusionPromise(p);
  return encodeSigned(record, signRecord(record, ledgerSecretKey));
}

/**
 * Opens a signed promise: checks the ledger's signature and that it is the promise for `signedAnchor` (the
 * exact bytes the agent sent). Throws ProtocolError BAD_SIGNATURE / PROMISE_MISMATCH / decoding errors.
 */
export function openInclusionPromise(signed: Uint8Array, ledgerPublicKey: Uint8Array, signedAnchor?: Uint8Array): InclusionPromise {
  const { record, signature } = splitSigned(signed);
  const p = decodeInclusionPromise(record);
  if (!verifyRecord(record, signature, ledgerPublicKey)) {
    throw new ProtocolError('BAD_SIGNATURE', `inclusion promise for ${p.meterId} seq ${p.seq} is not signed by the ledger key`);
  }
  if (signedAnchor && !bytesEqual(p.anchorHash, leafHash(signedAnchor))) {
    throw new ProtocolError('PROMISE_MISMATCH', `inclusion promise for ${p.meterId} seq ${p.seq} names another anchor`);
  }
  return p;
}
