// Counters of what interface 2 delivered since start (the pending count is the store's, kept in step).
import type { RejectionCode } from './errors.js';

export interface CollectorStats {
  /** Readings stored for the first time. */
  collected: number;
  /** Deliveries of a reading that was already stored (acked with duplicate:true). */
  duplicates: number;
  /** Deliveries of a different reading for a stored (meter, seq), recorded as conflicts. */
  conflicts: number;
  /** Deliveries waiting for their key announcement right now. */
  pending: number;
  /** Session keys accepted from key announcements. */
  keys: number;
  /** Refused messages by code (MALFORMED, BAD_SIGNATURE, NO_SESSION_KEY, …). */
  rejected: Record<string, number>;
}

export class StatsCounter {
  collected = 0;
  duplicates = 0;
  conflicts = 0;
  pending = 0;
  keys = 0;
  readonly #rejected = new Map<string, number>();

  reject(code: RejectionCode): void {
    this.#rejected.set(code, (this.#rejected.get(code) ?? 0) + 1);
  }

  snapshot(): CollectorStats {
    return {
      collected: this.collected,
      duplicates: this.duplicates,
      conflicts: this.conflicts,
      pending: this.pending,
      keys: this.keys,
      rejected: Object.fromEntries(this.#rejected),
    };
  }
}
