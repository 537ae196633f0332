// The ledger's storage behind one narrow interface, so that a PostgreSQL backend can come later: the
// log (entries and the complete Merkle nodes of RFC 9162 §2.1 subtrees), the indexes derived from log
// entries (meters, bindings, anchors, successful authentications), the latest signed checkpoint and
// counters. An append writes its entries, their nodes, index rows and counters in ONE transaction; a batch
// of appends (group commit) is one transaction too, all or nothing.
// SQLite implementation: sqlite-store.ts; conformance suite: testing/store-conformance.ts.
import type { MeterIndexLeaf, NodeReader } from '@meterseal/protocol';
import type { MeterEventRow } from './revocation-events.js';

export interface MeterRow {
  meterId: string;
  identityPublicKey: Uint8Array;
  /** Leaf index of the Registration entry. */
  registrationIndex: bigint;
  registeredAtMs: number;
  /** The IdentityCertificate issued, and the ledger's signature on it (re-sent on an identical re-registration). */
  certificate: Uint8Array;
  certificateSignature: Uint8Array;
}

export interface MeterSummary {
  meterId: string;
  registeredAtMs: number;
  bindings: number;
}

export interface BindingRow {
  meterId: string;
  /** keyId(sessionPublicKey): what anchors name. */
  keyId: Uint8Array;
  sessionPublicKey: Uint8Array;
  firstSeq: bigint;
  leafIndex: bigint;
}

export interface AnchorRow {
  meterId: string;
  seq: bigint;
  leafIndex: bigint;
  readingHash: Uint8Array;
  keyId: Uint8Array;
}

export interface AuthPassRow {
  /** Leaf index of the passing AuthResult entry. */
  leafIndex: bigint;
  meterId: string;
  atMs: number;
}

export interface StoredCheckpoint {
  size: bigint;
  /** The C2SP signed note. */
  note: string;
}

/** A witness's cosignature of one checkpoint size (cosignature-store.ts), kept across restarts. */
export interface StoredCosignature {
  size: bigint;
  /** The witness's cosignature/v1 vkey, as configured. */
  witness: string;
  /** The ledger's own signed checkpoint note for `size` (c2sp.org/signed-note), without cosignatures. */
  note: string;
  /** The witness's signature line(s), each ending in a newline (c2sp.org/tlog-cosignature). */
  lines: string;
  atMs: number;
}

/** What else an append records, in the same transaction as the entry. */
export type AppendEffect =
  /** `exchange`: an operator-approved new identity key replaces the meter's row (MeterExchangeApproval). */
  | { kind: 'registration'; meter: Omit<MeterRow, 'registrationIndex'>; exchange?: boolean }
  /** An operator's Revocation (0x09) or MeterExchangeApproval (0x0A); the entry is the signed record. */
  | { kind: 'meter-event'; event: Omit<MeterEventRow, 'leafIndex'> }
  /** An AuthSummary (0x0B) of `failures` failed authentications not logged one by one (auth-log.ts). */
  | { kind: 'auth-summary'; failures: number }
  | { kind: 'auth'; meterId: string; passed: boolean; atMs: number }
  | { kind: 'binding'; binding: Omit<BindingRow, 'leafIndex'>; /** the AuthPassRow it consumes */ authLeafIndex: bigint }
  /** The entry must be the signed anchor these fields describe (encodeSigned(encodeAnchor(anchor), signature)). */
  | { kind: 'anchor'; anchor: Omit<AnchorRow, 'leafIndex'> }
  /** Entry 0 of a period's log: the PreviousLog record (0x16) only (period-set.ts, docs/ledger.md). */
  | { kind: 'previous-log' }
  /** A meter's latest KeyBinding copied into a new period's log (period-carry.ts); consumes no authentication. */
  | { kind: 'carried-binding'; binding: Omit<BindingRow, 'leafIndex'> };

export interface AppendRequest {
  /**
   * Must equal treeSize() (for the n-th request of a batch, treeSize() + n): the store refuses an append at
   * any other index (STORE_APPEND_RACE). The store computes the leaf hash and the Merkle nodes it completes.
   */
  index: bigint;
  entry: Uint8Array;
  effect: AppendEffect;
}

/** Counter names kept by the store (rejections are `rejected.<CODE>`). */
export const COUNTERS = {
  registrations: 'registrations',
  authPassed: 'auth.passed',
  authFailed: 'auth.failed',
  bindings: 'bindings',
  anchored: 'anchored',
  rejectedPrefix: 'rejected.',
} as const;

/**
 * Synchronous on purpose: the protocol's Merkle functions read nodes through the synchronous NodeReader.
 * A networked backend would keep an in-process node cache (nodes never change once written).
 */
export interface LedgerStore extends NodeReader {
  /** e.g. "sqlite". */
  readonly backend: string;

  /** Small key/value facts about the log (origin, ledger public key), checked at start. */
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;

  treeSize(): bigint;
  /** Hash of complete node (level, index); throws STORE_CORRUPT if the tree does not complete it. */
  getNode(level: number, index: bigint): Uint8Array;
  getEntry(index: bigint): Uint8Array | undefined;
  /** Hashes of complete nodes (level, from … from+count−1), in order; throws STORE_CORRUPT if any is absent. */
  getNodes(level: number, from: bigint, count: number): Uint8Array[];
  /** Entries from … from+count−1, in order; throws STORE_CORRUPT if any is absent. */
  getEntries(from: bigint, count: number): Uint8Array[];
  /** Appends atomically: entry, nodes, effect rows and counters, or nothing. */
  append(req: AppendRequest): void;
  /**
   * Appends consecutive entries in ONE durable transaction (group commit): all of them or none. When it
   * returns, every entry is committed; when it throws, nothing is, and the store is as before.
   */
  appendBatch(reqs: readonly AppendRequest[]): void;

  getMeter(meterId: string): MeterRow | undefined;
  /** The meter's operator events (revocations, approved exchanges) in log order. */
  meterEvents(meterId: string): MeterEventRow[];
  listMeters(): MeterSummary[];

  getBinding(meterId: string, keyId: Uint8Array): BindingRow | undefined;
  /**
   * The binding after `b` among the meter's bindings in (firstSeq, leafIndex) order: `b` covers the seqs
   * from its firstSeq up to (not including) that one's firstSeq, docs/protocol.md §7.
   */
  nextBinding(meterId: string, b: Pick<BindingRow, 'firstSeq' | 'leafIndex'>): BindingRow | undefined;
  /** The meter's last binding in (firstSeq, leafIndex) order. */
  latestBinding(meterId: string): BindingRow | undefined;

  /** The newest successful authentication at or after `sinceMs` not yet used by a binding. */
  unusedAuthPass(meterId: string, sinceMs: number): AuthPassRow | undefined;

  getAnchor(meterId: string, seq: bigint): AnchorRow | undefined;
  /** Anchors with from ≤ seq ≤ to, ordered by seq, at most `limit`. */
  anchorsInRange(meterId: string, from: bigint, to: bigint, limit: number): AnchorRow[];
  maxAnchoredSeq(meterId: string): bigint | undefined;

  /**
   * The per-meter index (docs/ledger.md): one leaf per registered or anchoring meter, sorted by meter id —
   * its meter tree (anchors in seq order) size and root, its key events' size and root. Kept up to date in
   * the appends' transactions.
   */
  meterIndexLeaves(): MeterIndexLeaf[];
  /** The meter's anchors at positions start … start+count−1 of its meter tree (seq order). */
  meterLeaves(meterId: string, start: bigint, count: number): AnchorRow[];

  getCheckpoint(): StoredCheckpoint | undefined;
  putCheckpoint(c: StoredCheckpoint): void;

  /** Stores (or replaces) a witness's cosignature of a checkpoint size; only the newest sizes are kept. */
  putCosignature(c: StoredCosignature): void;
  /** The cosignatures stored for one checkpoint size (any order). */
  getCosignatures(size: bigint): StoredCosignature[];
  /** Checkpoint sizes with stored cosignatures, newest first, at most `limit`. */
  cosignedSizes(limit: number): bigint[];

  counters(): Record<string, number>;
  /** Adds to counters (used for rejection counts, which are batched in memory between flushes). */
  addCounters(deltas: Record<string, number>): void;

  close(): void;
}
