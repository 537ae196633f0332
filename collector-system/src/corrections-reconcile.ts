// The records besides readings that take a seq of a meter — signed gap records (docs/protocol.md §12) and
// corrections (§14) — in reconciliation. The collector rebuilds each one's anchor leaf from the STORED record bytes
// (seq, the delivery's key id, SHA-256 of the record) and adds it to its side of the meter's tree, so the comparison
// with the ledger's proven tree checks it like a reading: only a leaf that is the ledger's leaf at that seq proves
// the record. A proven gap explains its seqs (`explained`); a proven correction shows its original `adjusted`. A
// forged, edited or unanchored one proves nothing: its seq is reported like any other divergence and the seqs it
// claims to explain stay unexplained.
import { bytesEqual, encodeReading, readingHash, sha256, toHex, type Correction } from '@meterseal/protocol';
import type { CorrectionStore } from './corrections.js';
import type { GapStore } from './gaps.js';
import type { CollectedLeaf, LeafVerdict } from './reconcile-tree.js';
import { readingValues } from './reconcile.js';
import type { AdjustedItem, ExplainedItem, ReportItem } from './report.js';
import type { StoredReading } from './store.js';

type LeafOf = (seq: bigint, keyId: Uint8Array, hash: Uint8Array) => Uint8Array;

interface GapEntry {
  kind: 'gap';
  seq: bigint;
  lastSeq: bigint;
  fromMs: bigint;
  toMs: bigint;
  reason: string;
  signer: string;
  hash: Uint8Array;
}

interface CorrectionEntry {
  kind: 'correction';
  seq: bigint;
  correction: Correction;
  hash: Uint8Array;
}

interface BrokenEntry {
  kind: 'broken';
  seq: bigint;
  what: 'gap record' | 'correction';
  error: string;
}

type Entry = GapEntry | CorrectionEntry | BrokenEntry;

/** What one meter's side records add to a run. */
export interface SideOutcome {
  divergences: ReportItem[];
  explained: ExplainedItem[];
  adjusted: AdjustedItem[];
  /** Side leaves proven matched (counted by the tree comparison as matched; they are not readings). */
  provenLeaves: number;
  explainedMissing: number;
  unexplainedMissing: number;
}

const describeGap = (g: GapEntry): string => `gap record ${g.seq}..${g.lastSeq} (${g.reason}${g.signer === '' ? '' : `, signed by gateway ${g.signer}`})`;

export class SideRecords {
  readonly #entries = new Map<bigint, Entry>();
  /** Entries whose seq a stored reading already holds: never added to the tree. */
  readonly #collisions: Entry[] = [];
  /** Seqs whose leaf the comparison did not prove (tampered or unanchored), with that verdict. */
  readonly #unproven = new Map<bigint, LeafVerdict>();
  readonly #leaves: (CollectedLeaf & { entry: Entry })[] = [];

  private constructor(readonly meterId: string) {}

  /** The meter's stored gap records and corrections as leaves, rebuilt from their stored bytes. */
  static load(meterId: string, leafOf: LeafOf, gaps?: GapStore, corrections?: CorrectionStore): SideRecords {
    const side = new SideRecords(meterId);
    const add = (entry: Entry, keyId: Uint8Array | null, hash: Uint8Array | null): void => {
      if (side.#entries.has(entry.seq)) {
        side.#collisions.push(entry);
        return;
      }
      side.#entries.set(entry.seq, entry);
      const ok = keyId !== null && hash !== null && keyId.length === 8;
      side.#leaves.push({ seq: entry.seq, leafHash: ok ? leafOf(entry.seq, keyId, hash) : null, readingHash: hash, entry });
    };
    for (const g of gaps?.storedGaps(meterId) ?? []) {
      if ('error' in g) add({ kind: 'broken', seq: g.firstSeq, what: 'gap record', error: g.error }, null, null);
      else {
        const hash = sha256(g.record); // §12: the gap's anchor carries SHA-256 of the gap record
        add({ kind: 'gap', seq: g.firstSeq, lastSeq: g.lastSeq, fromMs: g.fromMs, toMs: g.toMs, reason: g.reason, signer: g.signer, hash }, g.keyId, hash);
      }
    }
    for (const c of corrections?.corrections(meterId) ?? []) {
      if ('error' in c) add({ kind: 'broken', seq: c.seq, what: 'correction', error: c.error }, null, null);
      else {
        const hash = sha256(c.record); // §14: the correction's anchor carries SHA-256 of the correction record
        add({ kind: 'correction', seq: c.correction.seq, correction: c.correction, hash }, c.keyId, hash);
      }
    }
    return side;
  }

  /** The collector's leaves of the meter: its readings' and these records', sorted by seq, each seq once. */
  merge(readings: readonly CollectedLeaf[]): CollectedLeaf[] {
    if (this.#leaves.length === 0) return readings as CollectedLeaf[];
    const taken = new Set(readings.map((l) => l.seq));
    const extra = this.#leaves.filter((l) => {
      if (!taken.has(l.seq)) return true;
      this.#entries.delete(l.seq); // a stored reading holds this seq: the record cannot be the ledger's leaf there
      this.#collisions.push(l.entry);
      return false;
    });
    return [...readings, ...extra].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  }

  /**
   * True when a divergent verdict (tampered, unanchored) is about one of these records: the caller then does not
   * report it as a reading's (outcome() does). Matched verdicts are left to the caller's count.
   */
  claims(v: LeafVerdict): boolean {
    if (v.kind === 'matched' || v.kind === 'missing' || !this.#entries.has(v.seq)) return false;
    this.#unproven.set(v.seq, v);
    return true;
  }

  /**
   * The run's items for these records, after the comparison. `received`: the seqs of the meter's stored readings.
   * `original(seq)`: a stored reading (fetched only for proven corrections). `fresh`: agent times above it are newer
   * than two intervals (pending, not unanchored). `seqs`: the run's seq range for this meter, if any. `missing`:
   * the seqs the ledger anchored and the collector lacks.
   */
  async outcome(o: {
    received: readonly bigint[]; original: (seq: bigint) => Promise<StoredReading | undefined>; fresh: bigint; seqs?: { from: bigint; to: bigint }; missing: readonly bigint[];
  }): Promise<SideOutcome> {
    const out: SideOutcome = { divergences: [], explained: [], adjusted: [], provenLeaves: 0, explainedMissing: 0, unexplainedMissing: 0 };
    const inRange = (s: bigint): boolean => o.seqs === undefined || (s >= o.seqs.from && s <= o.seqs.to);
    const meterId = this.meterId;
    const proven: GapEntry[] = [];
    const correctionSeqs: bigint[] = [];
    for (const e of [...this.#entries.values()].sort((a, b) => (a.seq < b.seq ? -1 : 1))) {
      if (!inRange(e.seq)) continue;
      const seq = e.seq.toString(10);
      if (e.kind === 'broken') {
        out.divergences.push({ meterId, seq, outcome: 'tampered', detail: `${e.error}; it explains or corrects nothing` });
        continue;
      }
      if (e.kind === 'correction') correctionSeqs.push(e.seq);
      const v = this.#unproven.get(e.seq);
      const what = e.kind === 'gap' ? describeGap(e) : `correction of seq ${e.correction.originalSeq}`;
      if (v?.kind === 'tampered') {
        // the ledger holds another leaf here: the stored record is not the one anchored (forged or edited)
        out.divergences.push({
          meterId, seq, outcome: e.kind === 'gap' ? 'missing' : 'tampered', collectedHash: toHex(e.hash), ledgerHash: toHex(v.ledger.readingHash),
          detail: `a stored ${what} is not the ledger's leaf at this seq; it ${e.kind === 'gap' ? 'explains' : 'corrects'} nothing`,
        });
        continue;
      }
      if (v?.kind === 'unanchored') {
        const at = e.kind === 'gap' ? e.toMs : e.correction.agentTimeMs;
        const pending = at > o.fresh;
        out.divergences.push({
          meterId, seq, outcome: pending ? 'pending' : 'unanchored', collectedHash: toHex(e.hash),
          detail: `a stored ${what}, not anchored by the ledger${pending ? ' yet (newer than two intervals)' : ''}; it ${e.kind === 'gap' ? 'explains' : 'corrects'} nothing`,
        });
        continue;
      }
      out.provenLeaves++;
      if (e.kind === 'gap') {
        proven.push(e);
        out.explained.push({
          meterId, seq, lastSeq: e.lastSeq.toString(10), outcome: 'explained', reason: e.reason, signer: e.signer, fromMs: e.fromMs.toString(10), toMs: e.toMs.toString(10),
          ledgerHash: toHex(e.hash),
          detail: `seqs ${e.seq}..${e.lastSeq} missing: ${e.reason}, signed by ${e.signer === '' ? "the meter's own agent" : `gateway ${e.signer}`}; the gap record's anchor is the ledger's leaf at seq ${e.seq}`,
        });
      } else out.adjusted.push(this.#adjusted(e, await o.original(e.correction.originalSeq)));
    }
    for (const e of this.#collisions) {
      if (!inRange(e.seq)) continue;
      const what = e.kind === 'gap' ? describeGap(e) : e.kind === 'correction' ? `correction of seq ${e.correction.originalSeq}` : e.what;
      out.divergences.push({ meterId, seq: e.seq.toString(10), outcome: 'conflict', detail: `a stored ${what} claims a seq that a stored reading or record already holds; it explains or corrects nothing` });
    }
    Object.assign(out, seqCompleteness([...o.received, ...correctionSeqs], proven, o.missing, o.seqs));
    return out;
  }

  #adjusted(e: CorrectionEntry, original: StoredReading | undefined): AdjustedItem {
    const c = e.correction;
    let originalHash: Uint8Array | null = null;
    try {
      originalHash = original ? readingHash(encodeReading(original.reading)) : null;
    } catch {
      originalHash = null;
    }
    const detail = !original
      ? `the original reading at seq ${c.originalSeq} is not stored`
      : originalHash === null || !bytesEqual(originalHash, c.originalHash)
        ? `the stored original no longer hashes to ${toHex(c.originalHash)}, the hash the correction names`
        : undefined;
    return {
      meterId: this.meterId, seq: c.originalSeq.toString(10), outcome: 'adjusted',
      ...(original ? { collected: readingValues(original.reading) } : {}),
      ...(originalHash ? { collectedHash: toHex(originalHash) } : {}),
      corrected: {
        seq: c.seq.toString(10), agentTimeMs: c.agentTimeMs.toString(10), reason: c.reason,
        registers: c.registers.map((g) => ({ obis: g.obis, value: g.value.toString(10), scaler: g.scaler, unit: g.unit })),
      },
      ledgerHash: toHex(e.hash),
      ...(detail ? { detail } : {}),
    };
  }
}

/**
 * Seqs from 1 (or the range's first) to the highest known (received, proven gap, or anchored by the ledger but
 * missing here) without a received record: those inside a proven gap (explained) and the rest (unexplained).
 */
export function seqCompleteness(received: readonly bigint[], gaps: readonly { seq: bigint; lastSeq: bigint }[], missing: readonly bigint[], seqs?: { from: bigint; to: bigint }): { explainedMissing: number; unexplainedMissing: number } {
  let hi = 0n;
  for (const s of received) if (s > hi) hi = s;
  for (const s of missing) if (s > hi) hi = s;
  for (const g of gaps) if (g.lastSeq > hi) hi = g.lastSeq;
  let lo = 1n;
  if (seqs) {
    if (seqs.from > lo) lo = seqs.from;
    if (seqs.to < hi) hi = seqs.to;
  }
  if (hi < lo) return { explainedMissing: 0, unexplainedMissing: 0 };
  // merged gap intervals clipped to [lo, hi]
  const spans = gaps.map((g) => [g.seq < lo ? lo : g.seq, g.lastSeq > hi ? hi : g.lastSeq] as [bigint, bigint]).filter(([a, b]) => a <= b).sort((x, y) => (x[0] < y[0] ? -1 : 1));
  const merged: [bigint, bigint][] = [];
  for (const [a, b] of spans) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1] + 1n) last[1] = b > last[1] ? b : last[1];
    else merged.push([a, b]);
  }
  const inGap = (s: bigint): boolean => {
    let l = 0;
    let h = merged.length - 1;
    while (l <= h) {
      const m = (l + h) >> 1;
      const [a, b] = merged[m]!;
      if (s < a) h = m - 1;
      else if (s > b) l = m + 1;
      else return true;
    }
    return false;
  };
  let gapSeqs = 0n;
  for (const [a, b] of merged) gapSeqs += b - a + 1n;
  let receivedIn = 0n;
  let receivedInGap = 0n;
  for (const s of new Set(received)) {
    if (s < lo || s > hi) continue;
    receivedIn++;
    if (inGap(s)) receivedInGap++;
  }
  const explained = gapSeqs - receivedInGap;
  return { explainedMissing: Number(explained), unexplainedMissing: Number(hi - lo + 1n - receivedIn - explained) };
}
