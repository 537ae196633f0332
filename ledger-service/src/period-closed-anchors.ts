// Anchors of closed periods (docs/ledger.md "Log rotation by period", issue 3 item 7 across periods): a
// repeated (meter, seq) maps to the leaf it already has, even when that leaf is in a closed period's log, and a
// different anchor for it is a CONFLICT. The hot path must stay cheap for the common case — a NEW reading, whose
// seq lies above every seq the meter anchored in closed periods — so each meter's highest closed-period seq is
// cached: closed logs never change, so the bound is valid until the next rotation (then the cache is dropped).
// The cache holds at most `maxMeters` meters (first in, first out); a meter not in it costs one indexed query
// per closed period file (maxAnchoredSeq), once. Only a seq at or below that bound is looked up row by row,
// newest closed period first.
import type { LedgerLog } from './log.js';
import type { PeriodLogSet } from './period-set.js';
import type { AnchorRow, LedgerStore } from './store.js';

export interface ClosedAnchor {
  period: string;
  /** "<origin>/<period>": the origin of the closed log's checkpoints. */
  origin: string;
  row: AnchorRow;
  /** The log entry at row.leafIndex (the signed anchor). */
  entry: Uint8Array | undefined;
  store: LedgerStore;
  log: LedgerLog;
}

export interface ClosedAnchorStats {
  /** Bound lookups answered from the cache. */
  hits: number;
  /** Bound lookups that queried the closed period files. */
  misses: number;
  /** maxAnchoredSeq / getAnchor queries made on closed period files. */
  storeQueries: number;
}

const NONE = -1n; // no anchor of the meter in any closed period

export class ClosedAnchors {
  private readonly maxSeq = new Map<string, bigint>();
  private generation = -1;
  readonly stats: ClosedAnchorStats = { hits: 0, misses: 0, storeQueries: 0 };

  constructor(private readonly set: PeriodLogSet, private readonly maxMeters: number) {}

  private fresh(): void {
    if (this.generation !== this.set.generation) {
      this.maxSeq.clear(); // a rotation closed one more log
      this.generation = this.set.generation;
    }
  }

  /** The highest seq the meter anchored in any closed period, or undefined. */
  highestSeq(meterId: string): bigint | undefined {
    this.fresh();
    let m = this.maxSeq.get(meterId);
    if (m !== undefined) {
      this.stats.hits++;
    } else {
      this.stats.misses++;
      m = NONE;
      for (const period of this.set.closedPeriods()) {
        this.stats.storeQueries++;
        const s = this.set.closedLog(period).store.maxAnchoredSeq(meterId);
        if (s !== undefined && s > m) m = s;
      }
      if (this.maxMeters > 0) {
        if (this.maxSeq.size >= this.maxMeters) this.maxSeq.delete(this.maxSeq.keys().next().value!); // bounded: FIFO
        this.maxSeq.set(meterId, m);
      }
    }
    return m === NONE ? undefined : m;
  }

  /** The anchor of (meter, seq) in the newest closed period that has one; undefined without a query when seq is above the bound. */
  find(meterId: string, seq: bigint): ClosedAnchor | undefined {
    const max = this.highestSeq(meterId);
    if (max === undefined || seq > max) return undefined;
    for (const period of this.set.closedPeriods()) {
      const c = this.set.closedLog(period);
      this.stats.storeQueries++;
      const row = c.store.getAnchor(meterId, seq);
      if (row) return { period, origin: c.origin, row, entry: c.store.getEntry(row.leafIndex), store: c.store, log: c.log };
    }
    return undefined;
  }
}
