// The collector's storage contract. SQLite implements it today (sqlite-store.ts); a PostgreSQL backend must
// pass the same conformance test (store-conformance.ts). Async throughout so that a networked backend fits.
//
// What is stored is each reading's canonical encoding — the bytes the meter signed, which hold every value of
// the reading — never its hash: reconciliation hashes those stored bytes again on every run, so an edit to any
// stored value (which can only be an edit of those bytes) shows up as a hash that differs from the ledger's.
import type { Reading } from '@meterseal/protocol';
import type { Report } from './report.js';

/** A verified session key (docs/protocol.md §7, §8), with the announcement that proved it. */
export interface SessionKeyRecord {
  meterId: string;
  keyId: Uint8Array;
  sessionPublicKey: Uint8Array;
  identityPublicKey: Uint8Array;
  /** The binding covers readings from this seq on, until the meter's next binding. */
  firstSeq: bigint;
  createdAtMs: bigint;
  /** The KeyAnnouncement bytes as received (evidence; the certificate and binding with their signatures). */
  announcement: Uint8Array;
  receivedAt: string;
}

/** A verified reading on its way into the store. */
export interface NewReading {
  reading: Reading;
  /** The canonical bytes as delivered: compared with a stored reading's re-encoding to tell duplicates from conflicts. */
  bytes: Uint8Array;
  keyId: Uint8Array;
  signature: Uint8Array;
  receivedAt: string;
}

/** stored: new; duplicate: the same reading was stored before; conflict: a different one was, and this one is recorded aside. */
export type InsertOutcome = 'stored' | 'duplicate' | 'conflict';

export interface StoredReading {
  /**
   * Decoded from the stored bytes. If they no longer decode (edited at rest), a placeholder with the stored
   * meter id and seq, no registers (so it does not encode either) and `undecodable` saying why.
   */
  reading: Reading;
  /** The reading's canonical encoding as stored: what reconciliation hashes. */
  bytes: Uint8Array;
  /** Set when the stored bytes are not a reading any more: why decoding them failed. */
  undecodable?: string;
  keyId: Uint8Array;
  signature: Uint8Array;
  receivedAt: string;
}

export interface ConflictRecord {
  meterId: string;
  seq: bigint;
  /** The conflicting reading exactly as delivered. */
  bytes: Uint8Array;
  keyId: Uint8Array;
  signature: Uint8Array;
  receivedAt: string;
}

/** A delivery whose session key has not been announced yet. */
export interface PendingDelivery {
  id: number;
  meterId: string;
  keyId: Uint8Array;
  /** The Delivery record as received. */
  payload: Uint8Array;
  /** Where to answer once it is decided (the latest request's, if the meter resent it). */
  responseTopic: string | null;
  correlationData: Uint8Array | null;
  receivedAt: string;
}

export type NewPending = Omit<PendingDelivery, 'id'>;

export interface StoreCounts {
  readings: number;
  conflicts: number;
  pending: number;
  sessionKeys: number;
  reports: number;
}

export interface CollectorStore {
  /** "sqlite", "postgres", … */
  readonly backend: string;

  /** Idempotent; a different key under a used (meter, keyId) is refused ("conflict") and nothing is overwritten. */
  putSessionKey(key: SessionKeyRecord): Promise<'stored' | 'duplicate' | 'conflict'>;
  getSessionKey(meterId: string, keyId: Uint8Array): Promise<SessionKeyRecord | null>;
  /** A meter's session keys ordered by firstSeq. */
  sessionKeys(meterId: string): Promise<SessionKeyRecord[]>;

  /**
   * One transaction for the whole batch; one outcome per item, in order. Idempotent on (meter, seq): the same
   * bytes again are "duplicate", different bytes for a stored (meter, seq) are recorded aside as "conflict".
   */
  insertReadings(batch: NewReading[]): Promise<InsertOutcome[]>;
  /** Stored readings of one meter with fromSeq <= seq <= toSeq, ordered by seq, at most `limit`. */
  readings(meterId: string, fromSeq: bigint, toSeq: bigint, limit?: number): Promise<StoredReading[]>;
  /** Meter ids with at least one stored reading or conflict, sorted. */
  meters(): Promise<string[]>;
  /** The smallest and largest stored seq of a meter, or null. */
  seqRange(meterId: string): Promise<{ min: bigint; max: bigint } | null>;
  /** All recorded conflicts, ordered by meter, seq, then arrival. */
  conflicts(): Promise<ConflictRecord[]>;

  /**
   * Keeps a delivery until its key is announced; the same payload again only refreshes the response address.
   * True if it was not pending before.
   */
  addPending(pending: NewPending): Promise<boolean>;
  /** Pending deliveries for one session key, oldest first. */
  pendingFor(meterId: string, keyId: Uint8Array): Promise<PendingDelivery[]>;
  /** Returns how many of them were still pending. */
  deletePending(ids: number[]): Promise<number>;

  counts(): Promise<StoreCounts>;

  saveReport(report: Report): Promise<void>;
  getReport(id: string): Promise<Report | null>;
  /** Report ids, newest first. */
  reportIds(): Promise<string[]>;

  close(): Promise<void>;
}
