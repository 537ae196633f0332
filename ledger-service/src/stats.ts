// Counters: appends count themselves inside the store's transactions; rejections (hostile traffic can be
// cheap and plentiful) are counted in memory and flushed to the store with each checkpoint tick, so junk
// never costs a synchronous disk write.
import type { RejectionCode } from './errors.js';
import { COUNTERS, type LedgerStore } from './store.js';

export interface LedgerStats {
  treeSize: number;
  anchored: number;
  registrations: number;
  authPassed: number;
  authFailed: number;
  bindings: number;
  /** Rejections by code (errors.ts REJECTION_CODES), since the data directory was created. */
  rejected: Record<string, number>;
  /** Witness submissions since start (in memory; witness-attach.ts). */
  witnesses: { cosigned: number; refused: number; failed: number };
}

export class Stats {
  private pending: Record<string, number> = {};

  /** Set by startLedger to the witness attacher's counters. */
  witnessCounts: () => LedgerStats['witnesses'] = () => ({ cosigned: 0, refused: 0, failed: 0 });

  constructor(private readonly store: LedgerStore) {}

  reject(code: RejectionCode): void {
    const name = COUNTERS.rejectedPrefix + code;
    this.pending[name] = (this.pending[name] ?? 0) + 1;
  }

  /** Writes the pending rejection counts to the store. */
  flush(): void {
    if (Object.keys(this.pending).length === 0) return;
    const p = this.pending;
    this.pending = {};
    try {
      this.store.addCounters(p);
    } catch (err) {
      for (const [k, v] of Object.entries(p)) this.pending[k] = (this.pending[k] ?? 0) + v;
      throw err;
    }
  }

  snapshot(): LedgerStats {
    const c = this.store.counters();
    for (const [k, v] of Object.entries(this.pending)) c[k] = (c[k] ?? 0) + v;
    const rejected: Record<string, number> = {};
    for (const [k, v] of Object.entries(c)) if (k.startsWith(COUNTERS.rejectedPrefix)) rejected[k.slice(COUNTERS.rejectedPrefix.length)] = v;
    return {
      treeSize: Number(this.store.treeSize()),
      anchored: c[COUNTERS.anchored] ?? 0,
      registrations: c[COUNTERS.registrations] ?? 0,
      authPassed: c[COUNTERS.authPassed] ?? 0,
      authFailed: c[COUNTERS.authFailed] ?? 0,
      bindings: c[COUNTERS.bindings] ?? 0,
      rejected,
      witnesses: this.witnessCounts(),
    };
  }
}
