// The per-meter index (docs/ledger.md §Per-meter index). Every meter has
//   - a meter tree: an RFC 9162 Merkle tree whose leaves are the meter's anchors in seq order, leaf data
//     d(i) = encodeAnchor(anchor) (the unsigned Anchor record, docs/protocol.md §4), so that anyone holding
//     a reading and its key id can rebuild the leaf;
//   - a key-events tree: an RFC 9162 tree over the meter's key events (bindings; revocations) in log order.
// The index is an RFC 9162 tree over one leaf per meter, sorted by meter id (byte order of the ASCII id):
//   leaf = "MSIX" 0x01 ‖ str8 meterId ‖ u64 treeSize ‖ treeRoot[32] ‖ u64 keyEventsSize ‖ keyEventsRoot[32]
// and every checkpoint commits its root in one extension line (c2sp.org/tlog-checkpoint: non-empty lines
// after the root hash are extension lines):  "meterseal-index/v1 <meter count> <base64 index root>".
import { createHash } from 'node:crypto';
import { type Anchor, encodeAnchor } from './anchor.js';
import { fromBase64, toBase64 } from './bytes.js';
import type { Checkpoint } from './checkpoint.js';
import { Reader, Writer } from './codec.js';
import { KEY_ID_LENGTH } from './ed25519.js';
import { ProtocolError } from './errors.js';
import { leafHash } from './merkle/hashing.js';
import { rootOfLeaves } from './merkle/range.js';
import { assertMeterId } from './meter-id.js';

export interface MeterIndexLeaf {
  meterId: string;
  /** Leaves of the meter tree (anchors of the meter). */
  treeSize: bigint;
  treeRoot: Uint8Array;
  keyEventsSize: bigint;
  keyEventsRoot: Uint8Array;
}

/**
 * A key event of a meter, in log order: a session-key binding, or an operator event on its identity key
 * (issue 5: a revocation, or an approved meter exchange naming the new identity key).
 */
export type KeyEvent =
  | { kind: 'binding'; meterId: string; keyId: Uint8Array; sessionPublicKey: Uint8Array; firstSeq: bigint; leafIndex: bigint }
  | { kind: 'operator'; meterId: string; event: 'revoked' | 'exchange-approved'; identityKeyId: Uint8Array; newIdentityPublicKey?: Uint8Array; leafIndex: bigint };

const INDEX_LEAF_TAG = new Uint8Array([0x4d, 0x53, 0x49, 0x58, 0x01]); // "MSIX" v1: never a record type byte
const KEY_EVENT_TAG = new Uint8Array([0x4d, 0x53, 0x4b, 0x45, 0x01]); // "MSKE" v1
export const INDEX_EXTENSION = 'meterseal-index/v1';

/** d(i) of a meter tree: the unsigned Anchor record. */
export function meterLeafData(a: Anchor): Uint8Array {
  return encodeAnchor(a);
}

/** RFC 9162 §2.1.1 leaf hash of a meter-tree leaf. */
export function meterLeafHash(a: Anchor): Uint8Array {
  return leafHash(encodeAnchor(a));
}

/**
 * meterLeafHash for many anchors of one meter: the same bytes (encodeAnchor's type, version, str8 meter id,
 * u64 seq, key id, reading hash) hashed without building each record. For the collector's hot path.
 */
export function meterLeafHasher(meterId: string): (seq: bigint, keyId: Uint8Array, readingHash: Uint8Array) => Uint8Array {
  const prefix = encodeAnchor({ meterId, seq: 0n, keyId: new Uint8Array(KEY_ID_LENGTH), readingHash: new Uint8Array(32) }).subarray(0, -(8 + KEY_ID_LENGTH + 32));
  const head = Buffer.concat([Buffer.from([0x00]), prefix]); // RFC 9162 §2.1.1 leaf prefix 0x00, then the record
  const seqBuf = Buffer.alloc(8);
  return (seq, keyId, readingHash) => {
    if (keyId.length !== KEY_ID_LENGTH || readingHash.length !== 32) throw new ProtocolError('BAD_LENGTH', 'key id must be 8 bytes and reading hash 32');
    seqBuf.writeBigUInt64BE(seq);
    return new Uint8Array(createHash('sha256').update(head).update(seqBuf).update(keyId).update(readingHash).digest());
  };
}

export function encodeIndexLeaf(l: MeterIndexLeaf): Uint8Array {
  assertMeterId(l.meterId);
  return new Writer()
    .fixed(INDEX_LEAF_TAG, INDEX_LEAF_TAG.length)
    .str8(l.meterId)
    .u64(l.treeSize)
    .fixed(l.treeRoot, 32)
    .u64(l.keyEventsSize)
    .fixed(l.keyEventsRoot, 32)
    .finish();
}

export function decodeIndexLeaf(bytes: Uint8Array): MeterIndexLeaf {
  const rd = new Reader(bytes, 'meter index leaf');
  const tag = rd.fixed(INDEX_LEAF_TAG.length, 'tag');
  if (!tag.every((b, i) => b === INDEX_LEAF_TAG[i])) throw new ProtocolError('WRONG_TYPE', 'not a meter index leaf');
  const meterId = rd.str8('meterId');
  assertMeterId(meterId);
  const l = { meterId, treeSize: rd.u64('treeSize'), treeRoot: rd.fixed(32, 'treeRoot'), keyEventsSize: rd.u64('keyEventsSize'), keyEventsRoot: rd.fixed(32, 'keyEventsRoot') };
  rd.end();
  return l;
}

export function indexLeafHash(l: MeterIndexLeaf): Uint8Array {
  return leafHash(encodeIndexLeaf(l)); // RFC 9162 §2.1.1
}

export function encodeKeyEvent(e: KeyEvent): Uint8Array {
  assertMeterId(e.meterId);
  const w = new Writer().fixed(KEY_EVENT_TAG, KEY_EVENT_TAG.length);
  if (e.kind === 'binding') w.u8(1).str8(e.meterId).fixed(e.keyId, KEY_ID_LENGTH).fixed(e.sessionPublicKey, 32).u64(e.firstSeq).u64(e.leafIndex);
  else w.u8(2).str8(e.meterId).str8(e.event).bytes8(e.identityKeyId).bytes8(e.newIdentityPublicKey ?? new Uint8Array(0)).u64(e.leafIndex);
  return w.finish();
}

/** Root of a key-events tree (events in log order). */
export function keyEventsRoot(events: readonly KeyEvent[]): Uint8Array {
  return rootOfLeaves(events.map((e) => leafHash(encodeKeyEvent(e))));
}

/** Byte order of ASCII meter ids (what the index is sorted by). */
export function compareMeterIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The index root over leaves that must be sorted by meter id, each id once (else INDEX_ORDER). */
export function indexRoot(leaves: readonly MeterIndexLeaf[]): Uint8Array {
  for (let i = 1; i < leaves.length; i++) {
    if (compareMeterIds(leaves[i - 1]!.meterId, leaves[i]!.meterId) >= 0) throw new ProtocolError('INDEX_ORDER', `index leaves are not sorted by meter id at ${i}`);
  }
  return rootOfLeaves(leaves.map(indexLeafHash));
}

export interface IndexCommitment {
  meters: bigint;
  root: Uint8Array;
}

/** The checkpoint extension line committing the index (c2sp.org/tlog-checkpoint extension line). */
export function formatIndexExtension(c: IndexCommitment): string {
  return `${INDEX_EXTENSION} ${c.meters.toString(10)} ${toBase64(c.root)}`;
}

/** The index commitment of a checkpoint; INDEX_MISSING if it has none, BAD_CHECKPOINT if it is malformed or repeated. */
export function indexCommitment(c: Checkpoint): IndexCommitment {
  const lines = c.extensions.filter((e) => e.startsWith(`${INDEX_EXTENSION} `));
  if (lines.length === 0) throw new ProtocolError('INDEX_MISSING', `checkpoint of ${c.origin} at size ${c.size} commits no ${INDEX_EXTENSION} index`);
  if (lines.length > 1) throw new ProtocolError('BAD_CHECKPOINT', `checkpoint has ${lines.length} ${INDEX_EXTENSION} lines`);
  const parts = lines[0]!.split(' ');
  if (parts.length !== 3 || !/^(0|[1-9][0-9]{0,19})$/.test(parts[1]!)) throw new ProtocolError('BAD_CHECKPOINT', `malformed ${INDEX_EXTENSION} line`);
  const meters = BigInt(parts[1]!);
  if (meters >= 1n << 64n) throw new ProtocolError('BAD_CHECKPOINT', 'index meter count exceeds 64 bits');
  let root: Uint8Array;
  try {
    root = fromBase64(parts[2]!);
  } catch (cause) {
    throw new ProtocolError('BAD_CHECKPOINT', `${INDEX_EXTENSION} root is not base64`, { cause });
  }
  if (root.length !== 32) throw new ProtocolError('BAD_CHECKPOINT', `${INDEX_EXTENSION} root must be 32 bytes`);
  return { meters, root };
}
