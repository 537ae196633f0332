// The current period's log behind the ordinary LedgerStore and LedgerLog surfaces (period-set.ts), so that
// every part of the ledger — handlers, anchor ingest, the query API, witnesses, receipts — serves the
// current period unchanged and follows a rotation without knowing about it. Two reads look further back:
// maxAnchoredSeq (a new binding's firstSeq must lie after every seq the meter anchored, in any period) and
// counters (stats since the data directory was created).
import type { MeterIndexLeaf, NoteSigner } from '@meterseal/protocol';
import { parseCheckpointText } from '@meterseal/protocol';
import { LedgerLog, type IndexSnapshot, type PendingEntry } from './log.js';
import { ClosedAnchors } from './period-closed-anchors.js';
import type { PeriodLogSet } from './period-set.js';
import type { MeterEventRow } from './revocation-events.js';
import type {
  AnchorRow, AppendRequest, AuthPassRow, BindingRow, LedgerStore, MeterRow, MeterSummary, StoredCheckpoint, StoredCosignature,
} from './store.js';

export class RotatingStore implements LedgerStore {
  readonly backend = 'sqlite (rotating by period)';
  private closedCounters?: { periods: number; values: Record<string, number> };
  /** Anchors of the closed periods (a resent reading keeps its leaf; a different one is a CONFLICT). */
  readonly closed: ClosedAnchors;

  constructor(private readonly set: PeriodLogSet, closedSeqCacheMeters = 500_000) {
    this.closed = new ClosedAnchors(set, closedSeqCacheMeters);
  }

  private get s(): LedgerStore {
    return this.set.current.store;
  }

  getMeta(key: string): string | undefined { return this.s.getMeta(key); }
  setMeta(key: string, value: string): void { this.s.setMeta(key, value); }
  treeSize(): bigint { return this.s.treeSize(); }
  getNode(level: number, index: bigint): Uint8Array { return this.s.getNode(level, index); }
  getEntry(index: bigint): Uint8Array | undefined { return this.s.getEntry(index); }
  getNodes(level: number, from: bigint, count: number): Uint8Array[] { return this.s.getNodes(level, from, count); }
  getEntries(from: bigint, count: number): Uint8Array[] { return this.s.getEntries(from, count); }
  append(req: AppendRequest): void {
    this.set.noteAppend([req.effect]);
    this.s.append(req);
  }
  appendBatch(reqs: readonly AppendRequest[]): void {
    this.set.noteAppend(reqs.map((r) => r.effect));
    this.s.appendBatch(reqs);
  }
  getMeter(meterId: string): MeterRow | undefined { return this.s.getMeter(meterId); }
  meterEvents(meterId: string): MeterEventRow[] { return this.s.meterEvents(meterId); }
  listMeters(): MeterSummary[] { return this.s.listMeters(); }
  getBinding(meterId: string, keyId: Uint8Array): BindingRow | undefined { return this.s.getBinding(meterId, keyId); }
  nextBinding(meterId: string, b: Pick<BindingRow, 'firstSeq' | 'leafIndex'>): BindingRow | undefined { return this.s.nextBinding(meterId, b); }
  latestBinding(meterId: string): BindingRow | undefined { return this.s.latestBinding(meterId); }
  unusedAuthPass(meterId: string, sinceMs: number): AuthPassRow | undefined { return this.s.unusedAuthPass(meterId, sinceMs); }
  getAnchor(meterId: string, seq: bigint): AnchorRow | undefined { return this.s.getAnchor(meterId, seq); }
  anchorsInRange(meterId: string, from: bigint, to: bigint, limit: number): AnchorRow[] { return this.s.anchorsInRange(meterId, from, to, limit); }
  meterIndexLeaves(): MeterIndexLeaf[] { return this.s.meterIndexLeaves(); }
  meterLeaves(meterId: string, start: bigint, count: number): AnchorRow[] { return this.s.meterLeaves(meterId, start, count); }
  getCheckpoint(): StoredCheckpoint | undefined { return this.s.getCheckpoint(); }
  putCheckpoint(c: StoredCheckpoint): void { this.s.putCheckpoint(c); }
  getCosignatures(size: bigint): StoredCosignature[] { return this.s.getCosignatures(size); }
  cosignedSizes(limit: number): bigint[] { return this.s.cosignedSizes(limit); }
  addCounters(deltas: Record<string, number>): void { this.s.addCounters(deltas); }

  /** The highest seq the meter anchored in any period (the closed periods' bound is cached: period-closed-anchors.ts). */
  maxAnchoredSeq(meterId: string): bigint | undefined {
    const here = this.s.maxAnchoredSeq(meterId);
    const closed = this.closed.highestSeq(meterId);
    return here === undefined || (closed !== undefined && closed > here) ? closed : here;
  }

  /**
   * A witness answer that arrives after a rotation cosigns the closed log's checkpoint: it must not be stored
   * beside the new log's checkpoints (receipts pick checkpoints by size). It is dropped.
   */
  putCosignature(c: StoredCosignature): void {
    let origin: string;
    try {
      origin = parseCheckpointText(c.note.slice(0, c.note.indexOf('\n\n') + 1)).origin;
    } catch {
      return;
    }
    if (origin === this.set.current.origin) this.s.putCosignature(c);
  }

  /** Counters of every period added up: stats since the data directory was created. */
  counters(): Record<string, number> {
    const closed = this.set.periods().filter((p) => p.closed);
    if (this.closedCounters?.periods !== closed.length) {
      const values: Record<string, number> = {};
      for (const p of closed) {
        for (const [k, v] of Object.entries(this.set.closedStore(p.period)?.counters() ?? {})) values[k] = (values[k] ?? 0) + v;
      }
      this.closedCounters = { periods: closed.length, values };
    }
    const out = { ...this.closedCounters.values };
    for (const [k, v] of Object.entries(this.s.counters())) out[k] = (out[k] ?? 0) + v;
    return out;
  }

  close(): void {
    this.set.close();
  }
}

/**
 * LedgerLog of whichever period is current. Every append first lets the set rotate (the period of an entry is
 * the ledger's clock at its append), and so does reading the size (so a registration's index and the log
 * origin in its certificate are read from the log it is appended to).
 */
export class RotatingLog extends LedgerLog {
  /**
   * `origin` is the ledger's base origin (config.origin): what identity certificates (`logOrigin`), inclusion
   * promises and the trust file name, stable across periods. The checkpoints of each period name
   * "<origin>/<period>" (set.current.origin); a verifier accepts those with protocol `sameLedgerOrigin`.
   */
  constructor(private readonly set: PeriodLogSet, store: RotatingStore, signer: NoteSigner, baseOrigin: string) {
    super(store, baseOrigin, signer);
  }

  private get cur(): LedgerLog {
    return this.set.current.log;
  }

  override get size(): bigint {
    this.set.maybeRotate();
    return this.cur.size;
  }

  override append(entry: Uint8Array, effect: Parameters<LedgerLog['append']>[1], expectedIndex?: bigint): bigint {
    this.set.maybeRotate();
    this.set.noteAppend([effect]); // a key event during the carry's preparation (period-prepare.ts)
    return this.cur.append(entry, effect, expectedIndex);
  }

  override appendBatch(entries: readonly PendingEntry[]): bigint {
    this.set.maybeRotate();
    this.set.noteAppend(entries.map((e) => e.effect));
    return this.cur.appendBatch(entries);
  }

  override entry(index: bigint): Uint8Array | undefined { return this.cur.entry(index); }
  override root(size?: bigint): Uint8Array { return size === undefined ? this.cur.root() : this.cur.root(size); }
  /** The checkpoint tick (service.ts) goes through here: a quiet ledger still closes its log on time. */
  override latestCheckpoint(): StoredCheckpoint {
    this.set.maybeRotate();
    return this.cur.latestCheckpoint();
  }
  override checkpointNow(): StoredCheckpoint {
    this.set.maybeRotate();
    return this.cur.checkpointNow();
  }
  override index(): IndexSnapshot { return this.cur.index(); }
  override keptIndex(size: bigint): IndexSnapshot | undefined { return this.cur.keptIndex(size); }
  override inclusionProof(index: bigint, size: bigint): Uint8Array[] { return this.cur.inclusionProof(index, size); }
  override consistencyProof(from: bigint, to: bigint): Uint8Array[] { return this.cur.consistencyProof(from, to); }
}

/** The closed periods' anchors behind a ledger's store, when it rotates by period. */
export function closedAnchorsOf(store: LedgerStore): ClosedAnchors | undefined {
  return store instanceof RotatingStore ? store.closed : undefined;
}
