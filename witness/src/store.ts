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

export interface WitnessStore {
  /** The latest cosigned tree head of `origin`, or null if none was ever cosigned. */
  latest(origin: string): CosignedHead | null;
  /**
   * Replaces `origin`'s latest head by `next` if it is still `expected` (null: none yet), durably, before
   * returning true. Returns false, changing nothing, if another request got there first.
   */
  advance(origin: string, expected: TreeHead | null, next: CosignedHead): boolean;
  /** Keeps a refused, log-signed request (bounded per origin). */
  recordEvidence(e: EvidenceRow): void;
  evidence(origin: string): EvidenceRow[];
  close(): void;
}
