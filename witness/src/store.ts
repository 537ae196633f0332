// WitnessStore: the narrow interface to the witness's memory. For each log (by origin) it keeps the latest
// checkpoint it cosigned; c2sp.org/tlog-witness requires checking and replacing it atomically, so
// `advance` is a compare-and-set. Refused requests that carry a valid log signature are kept as evidence.

export interface TreeHead {
  size: bigint;
  root: Uint8Array;
}

export interface CosignedHead extends TreeHead {
  /** The checkpoint note as received (the log's signed note). */
  note: string;
  cosignedAtMs: number;
}

export interface EvidenceRow {
  origin: string;
  /** The refusal code: BAD_PROOF or ROOT_MISMATCH. */
  reason: string;
  /** The whole add-checkpoint request body: the log-signed checkpoint and the proof that failed. */
  request: string;
  receivedAtMs: number;
}

/** Where a rotating ledger stands for this witness: the log it cosigned last (docs/ledger.md "Log rotation by period"). */
export interface LedgerPosition {
  origin: string;
  /** The period id of `origin` ("<base>/<period>"), or '' for the base origin itself (a log that never rotated). */
  period: string;
}

/** One head replaced by advanceLedger: `origin`'s head must still be `expected` (null: none). */
export interface HeadUpdate {
  origin: string;
  expected: TreeHead | null;
  next: CosignedHead;
}

export interface WitnessStore {
  /** The latest cosigned tree head of `origin`, or null if none was ever cosigned. */
  latest(origin: string): CosignedHead | null;
  /**
   * Replaces `origin`'s latest head by `next` if it is still `expected` (null: none yet), durably, before
   * returning true. Returns false, changing nothing, if another request got there first.
   */
  advance(origin: string, expected: TreeHead | null, next: CosignedHead): boolean;
  /** A rotating ledger's position (by its base origin), or null before its first cosigned checkpoint. */
  ledgerPosition(base: string): LedgerPosition | null;
  /**
   * For a rotating ledger, in one transaction: if `base`'s position is still `expected` (null: none) and each
   * head is still its `expected`, replaces the heads and sets the position to `next`, durably, and returns
   * true; otherwise changes nothing and returns false.
   */
  advanceLedger(base: string, expected: LedgerPosition | null, next: LedgerPosition, heads: readonly HeadUpdate[]): boolean;
  /** Keeps a refused, log-signed request (bounded per origin). */
  recordEvidence(e: EvidenceRow): void;
  evidence(origin: string): EvidenceRow[];
  close(): void;
}
