// What the collector keeps of a rotating ledger's CLOSED periods between windows (docs/ledger.md
// §Reconciliation, "Across periods"): only the LEDGER side — the final checkpoint, the chain link and the
// per-meter index leaves proven against that checkpoint. A closed period never changes (its final checkpoint
// is signed and committed by the next period's entry 0), so these need not cross the gap again. Nothing of the
// collector's side is kept: every window still re-hashes every stored reading from its values and compares it
// with these proven roots, so an insider who edits a reading of a closed period is caught in the next window.
import type { MeterIndexLeaf } from '@meterseal/protocol';

export interface CachedPeriod {
  period: string;
  origin: string;
  /** The period's final signed checkpoint note, as /periods listed it (and as the chain verified it). */
  finalCheckpoint: string;
  /** Entry 0 of the period's log and its inclusion proof in the final checkpoint (the chain link). */
  firstEntry?: Uint8Array;
  firstEntryProof?: Uint8Array[];
  /** The per-meter index leaves, sorted by meter id, proven against the final checkpoint's index commitment. */
  leaves: MeterIndexLeaf[];
}

export interface PeriodCache {
  /** The cached closed period with this origin ("<base>/<period>"). */
  get(origin: string): CachedPeriod | undefined;
  put(p: CachedPeriod): void;
  /** Every cached origin (a period the ledger once listed as closed must stay listed). */
  origins(): string[];
}

/**
 * In process memory (the collector's own RunStore holds one for the life of the service, runs.ts): trusted as
 * memory is. A store on disk would have to re-prove its leaves against the signed checkpoint when it loads them.
 */
export class MemoryPeriodCache implements PeriodCache {
  readonly #byOrigin = new Map<string, CachedPeriod>();

  get(origin: string): CachedPeriod | undefined {
    return this.#byOrigin.get(origin);
  }

  put(p: CachedPeriod): void {
    this.#byOrigin.set(p.origin, p);
  }

  origins(): string[] {
    return [...this.#byOrigin.keys()];
  }
}
