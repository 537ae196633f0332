// The key-status section of a receipt (docs/protocol.md §10.5.1): what proves offline that the session key
// that signed a reading was bound for its seq and not revoked before it, in log order. It rests on the per-meter
// index (meter-index.ts) that the receipt's checkpoint commits in its `meterseal-index/v1` extension line:
//   indexProof   c2sp.org/tlog-proof@v1 text: `extra` = the meter's index leaf (encodeIndexLeaf), `index` = the
//                meter's position in the index tree, the hashes = its RFC 9162 §2.1.3.1 inclusion path in the
//                index tree of <meter count> leaves, then the SAME checkpoint as the receipt's other proofs. The
//                root it leads to is the extension line's root, not the log root.
//   keyEvents    ALL of the meter's key events up to that checkpoint, in log order (encodeKeyEvent, hex). The
//                verifier recomputes the key-events root over the whole list (RFC 9162 §2.1.1 MTH) and compares
//                it, and the count, with the index leaf: each event is thereby proven included, and — what
//                per-event inclusion proofs could not show — no event (no revocation) is left out.
//   revocations  for each revocation event, its log entry (the operator-signed Revocation, `extra`) with a
//                c2sp.org/tlog-proof against the same checkpoint, so the verifier can name the reason.
import { z } from 'zod';
import { bytesEqual, fromHex, toBase64, toHex } from './bytes.js';
import type { Checkpoint } from './checkpoint.js';
import { Reader } from './codec.js';
import { KEY_ID_LENGTH } from './ed25519.js';
import { ProtocolError } from './errors.js';
import { leafHash, verifyInclusion } from './merkle/index.js';
import { assertMeterId } from './meter-id.js';
import {
  decodeIndexLeaf, encodeIndexLeaf, encodeKeyEvent, indexCommitment, indexLeafHash, keyEventsRoot, type KeyEvent, type MeterIndexLeaf,
} from './meter-index.js';
import { MAX_RECEIPT_BYTES, formatTlogProof, parseTlogProof, type TlogProof } from './receipt.js';
import { decodeRevocation, type Revocation } from './revocation.js';
import { splitSigned } from './signed.js';

export const KEY_STATUS_FORMAT = 'meterseal-key-status/v1';
/** Most key events one receipt carries (a daily session-key rotation fills it in about 11 years). */
export const MAX_KEY_EVENTS = 4096;
const MAX_REVOCATIONS = 64;
const KEY_EVENT_TAG = [0x4d, 0x53, 0x4b, 0x45, 0x01]; // "MSKE" v1 (meter-index.ts)

/** The section as it travels in the receipt JSON (field `keyStatus`). */
export interface KeyStatusWire {
  format: string;
  indexProof: string;
  keyEvents: string[];
  revocations: string[];
}

export const KeyStatusSchema = z.strictObject({
  format: z.literal(KEY_STATUS_FORMAT),
  indexProof: z.string().max(MAX_RECEIPT_BYTES),
  keyEvents: z.array(z.string().max(1024).regex(/^([0-9a-f]{2})+$/, 'lowercase hex bytes')).max(MAX_KEY_EVENTS),
  revocations: z.array(z.string().max(MAX_RECEIPT_BYTES)).max(MAX_REVOCATIONS),
});

export interface RevocationProof {
  /** The log entry: the Revocation record || the operator's signature. */
  entry: Uint8Array;
  proof: TlogProof;
}

export interface KeyStatus {
  indexLeaf: MeterIndexLeaf;
  /** The meter's position in the index tree, and the inclusion path (tlog-proof `index` and hashes). */
  indexProof: TlogProof;
  keyEvents: KeyEvent[];
  revocations: RevocationProof[];
}

/** Decodes one key event (encodeKeyEvent's bytes); hostile input gets a ProtocolError naming the field. */
export function decodeKeyEvent(bytes: Uint8Array): KeyEvent {
  const rd = new Reader(bytes, 'key event');
  const tag = rd.fixed(KEY_EVENT_TAG.length, 'tag');
  if (!tag.every((b, i) => b === KEY_EVENT_TAG[i])) throw new ProtocolError('WRONG_TYPE', 'not a key event');
  const kind = rd.u8('kind');
  let e: KeyEvent;
  if (kind === 1) {
    const meterId = rd.str8('meterId');
    assertMeterId(meterId);
    e = { kind: 'binding', meterId, keyId: rd.fixed(KEY_ID_LENGTH, 'keyId'), sessionPublicKey: rd.fixed(32, 'sessionPublicKey'), firstSeq: rd.u64('firstSeq'), leafIndex: rd.u64('leafIndex') };
  } else if (kind === 2) {
    const meterId = rd.str8('meterId');
    assertMeterId(meterId);
    const event = rd.str8('event');
    if (event !== 'revoked' && event !== 'exchange-approved') throw new ProtocolError('BAD_VALUE', 'key event: unknown operator event');
    const identityKeyId = rd.bytes8('identityKeyId');
    const newKey = rd.bytes8('newIdentityPublicKey');
    e = { kind: 'operator', meterId, event, identityKeyId, ...(newKey.length > 0 ? { newIdentityPublicKey: newKey } : {}), leafIndex: rd.u64('leafIndex') };
  } else {
    throw new ProtocolError('BAD_VALUE', `key event: unknown kind ${kind}`);
  }
  rd.end();
  if (!bytesEqual(encodeKeyEvent(e), bytes)) throw new ProtocolError('BAD_VALUE', 'key event is not in canonical form');
  return e;
}

/** The section for a receipt (ledger side). `checkpoint` is the note the receipt's other proofs use. */
export function buildKeyStatus(k: {
  indexLeaf: MeterIndexLeaf; position: bigint; indexPath: Uint8Array[]; checkpoint: string; keyEvents: readonly KeyEvent[];
  revocations: readonly { entry: Uint8Array; index: bigint; proof: Uint8Array[] }[];
}): KeyStatusWire {
  return {
    format: KEY_STATUS_FORMAT,
    indexProof: formatTlogProof({ extra: encodeIndexLeaf(k.indexLeaf), index: k.position, proof: k.indexPath, checkpoint: k.checkpoint }),
    keyEvents: k.keyEvents.map((e) => toHex(encodeKeyEvent(e))),
    revocations: k.revocations.map((r) => formatTlogProof({ extra: r.entry, index: r.index, proof: r.proof, checkpoint: k.checkpoint })),
  };
}

/** Parses the section (hostile input): ProtocolError BAD_KEY_STATUS naming the part. */
export function parseKeyStatus(input: unknown): KeyStatus {
  const r = KeyStatusSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ProtocolError('BAD_KEY_STATUS', `keyStatus field ${i.path.join('.') || '(root)'}: ${i.message}`, { cause: r.error });
  }
  const wrap = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (cause) {
      throw new ProtocolError('BAD_KEY_STATUS', `keyStatus ${what}: ${(cause as Error).message}`, { cause });
    }
  };
  const indexProof = wrap('indexProof', () => parseTlogProof(r.data.indexProof));
  if (!indexProof.extra) throw new ProtocolError('BAD_KEY_STATUS', 'keyStatus indexProof has no extra line (the index leaf)');
  const indexLeaf = wrap('indexProof extra (index leaf)', () => decodeIndexLeaf(indexProof.extra!));
  const keyEvents = r.data.keyEvents.map((h, i) => wrap(`keyEvents.${i}`, () => decodeKeyEvent(fromHex(h))));
  const revocations = r.data.revocations.map((text, i) => {
    const proof = wrap(`revocations.${i}`, () => parseTlogProof(text));
    if (!proof.extra) throw new ProtocolError('BAD_KEY_STATUS', `keyStatus revocations.${i} has no extra line (the log entry)`);
    return { entry: proof.extra, proof };
  });
  return { indexLeaf, indexProof, keyEvents, revocations };
}

/**
 * Checks the section against a checkpoint already verified (its signature) by the caller: the index leaf is
 * this meter's and is in the index the checkpoint commits; the events are all of its key events. Returns the
 * events (log order) with the proven revocation reasons by leaf index; throws ProtocolError INDEX_PROOF.
 */
export function verifyKeyStatus(k: KeyStatus, meterId: string, cp: Checkpoint, note: string): { events: KeyEvent[]; reasons: Map<bigint, Revocation> } {
  const fail = (msg: string, cause?: unknown): never => {
    throw new ProtocolError('INDEX_PROOF', msg, cause === undefined ? undefined : { cause });
  };
  if (k.indexProof.checkpoint !== note) fail('the index proof names another checkpoint than the receipt');
  const c = (() => {
    try {
      return indexCommitment(cp);
    } catch (err) {
      return fail((err as Error).message, err);
    }
  })();
  const leaf = k.indexLeaf;
  if (leaf.meterId !== meterId) fail(`the index leaf is meter ${leaf.meterId}'s, not ${meterId}'s`);
  // RFC 9162 §2.1.3.2 in the index tree, whose root and size the checkpoint's meterseal-index/v1 line commits
  if (k.indexProof.index >= c.meters || !verifyInclusion(indexLeafHash(leaf), k.indexProof.index, c.meters, k.indexProof.proof, c.root)) {
    fail(`the index leaf of ${meterId} (position ${k.indexProof.index}) is not in the index committed by the checkpoint (${c.meters} meters, root ${toBase64(c.root)})`);
  }
  if (BigInt(k.keyEvents.length) !== leaf.keyEventsSize) fail(`the receipt lists ${k.keyEvents.length} key events, the index leaf commits ${leaf.keyEventsSize}`);
  if (!bytesEqual(keyEventsRoot(k.keyEvents), leaf.keyEventsRoot)) fail("the listed key events do not hash to the index leaf's key-events root (one is altered, missing or out of order)");
  let last = -1n;
  for (const e of k.keyEvents) {
    if (e.meterId !== meterId) fail(`a key event names meter ${e.meterId}`);
    if (e.leafIndex <= last || e.leafIndex >= cp.size) fail(`key event at log index ${e.leafIndex} is out of log order or beyond the checkpoint`);
    last = e.leafIndex;
  }
  const reasons = new Map<bigint, Revocation>();
  for (const [i, r] of k.revocations.entries()) {
    if (r.proof.checkpoint !== note) fail(`revocation entry ${i} names another checkpoint than the receipt`);
    if (!verifyInclusion(leafHash(r.entry), r.proof.index, cp.size, r.proof.proof, cp.root)) fail(`revocation entry ${i} (index ${r.proof.index}) is not in the log under the checkpoint`); // RFC 9162 §2.1.3.2
    const rev = (() => {
      try {
        return decodeRevocation(splitSigned(r.entry).record);
      } catch (err) {
        return fail(`revocation entry ${i} is not a signed Revocation: ${(err as Error).message}`, err);
      }
    })();
    const ev = k.keyEvents.find((e) => e.leafIndex === r.proof.index);
    if (!ev || ev.kind !== 'operator' || ev.event !== 'revoked' || rev.meterId !== meterId || !bytesEqual(rev.identityKeyId, ev.identityKeyId)) {
      fail(`revocation entry ${i} (index ${r.proof.index}) is not the revocation event the index lists there`);
    }
    reasons.set(r.proof.index, rev);
  }
  return { events: k.keyEvents, reasons };
}

/** A key event in words, for messages. */
export const keyEventText = (e: KeyEvent): string =>
  e.kind === 'binding' ? `binding of key ${toHex(e.keyId)} from seq ${e.firstSeq} at log index ${e.leafIndex}` : `${e.event} of identity key ${toHex(e.identityKeyId)} at log index ${e.leafIndex}`;
