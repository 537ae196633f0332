// Reconciliation (README §Reconciliation, docs/ledger.md §Reconciliation): every stored reading is
// re-encoded from its stored VALUES with the protocol's encodeReading and hashed again — a stored hash is
// never trusted, none is stored — and rebuilt into its meter-tree leaf (the anchor, with the key id of its
// delivery). Per meter, the collector's root is compared with the ledger's, proven by the per-meter index
// that a checkpoint signed with the pinned key commits; the ledger's tree is walked only where they differ
// (reconcile-tree.ts). The collector also witnesses the checkpoint (witness.ts).
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  bytesEqual, decodeReading, encodeReading, indexCommitment, meterLeafHasher, periodOfOrigin, readingHash,
  toBase64, toHex, type CosignatureSigner, type CosignatureVerifier, type NoteVerifier, type Reading,
} from '@meterseal/protocol';
import { CollectorError, describe } from './errors.js';
import { LedgerClient } from './ledger-client.js';
import { comparePeriods } from './reconcile-period.js';
import type { PeriodCache } from './reconcile-period-cache.js';
import { loadPeriods, provenIndex, type PeriodPlan } from './reconcile-period-index.js';
import { compareMeter, type LeafVerdict } from './reconcile-tree.js';
import { newReportId, reportJson, type AdjustedItem, type ExplainedItem, type MeterCompleteness, type ReadingValues, type Report, type ReportCounts, type ReportItem, type WitnessResult } from './report.js';
import type { RunStore } from './runs.js';
import { SideRecords } from './corrections-reconcile.js';
import type { CorrectionStore } from './corrections.js';
import type { GapStore } from './gaps.js';
import { collectLeaves, leafView, type ReadingTime } from './rehash.js';
import type { CollectorStore, StoredReading } from './store.js';
import { witnessCheckpoint, type WitnessStateStore } from './witness.js';

const U64_MAX = (1n << 64n) - 1n;
/** The default reading interval: 15 minutes. */
export const DEFAULT_INTERVAL_MS = 15 * 60_000;

export interface ReconcileProgress {
  meterId: string;
  metersDone: number;
  metersTotal: number;
  /** Stored readings compared so far. */
  readingsDone?: number;
}

export interface ReconcileOptions {
  store: CollectorStore;
  /** Base URL of the ledger's query API (the air-gap relay's, during a window). */
  relayUrl: string;
  /** The pinned ledger verifier key: the checkpoint must be signed by it. */
  verifier: NoteVerifier;
  log: Logger;
  onProgress?: (p: ReconcileProgress) => void;
  /** Where to write <id>.json (the service passes <dataDir>/reports). */
  reportsDir?: string;
  /** Aborts the run (the window closed). */
  signal?: AbortSignal;
  now?: () => Date;
  /** The meters' reading interval (completeness, pending, silent); default 15 minutes. */
  intervalMs?: number;
  /** When set, the checkpoint must carry cosignatures of at least `quorum` of these witnesses. */
  witnesses?: { verifiers: CosignatureVerifier[]; quorum: number };
  /** The collector's own witness key and state (witness.ts); without it the checkpoint is not cosigned. */
  witness?: { signer: CosignatureSigner; store: WitnessStateStore };
  /** Where runs and their divergences are recorded (runs.ts). */
  runs?: RunStore;
  /** Threads that re-hash meters (rehash.ts): 0 = this thread; default one per core from 50,000 stored readings on. */
  rehashWorkers?: number;
  /** Signed gap records: a proven one explains its seqs (corrections-reconcile.ts, docs/protocol.md §12). */
  gaps?: GapStore;
  /** Signed corrections: a proven one shows its original `adjusted` (§14). */
  corrections?: CorrectionStore;
  /**
   * Only readings taken in [fromMs, toMs] (agent time, UTC epoch ms): per meter, the seqs from just after its
   * last stored reading before fromMs to just before its first after toMs (so gaps at the edges count).
   */
  range?: { fromMs: number; toMs: number };
  /**
   * A rotating ledger: where the closed periods' verified ledger data (final checkpoint, link, index leaves) is kept
   * between windows (reconcile-period-cache.ts). Default: the runs store's, when `runs` is given.
   */
  periodCache?: PeriodCache;
}

/** The seqs a time range covers for one meter, from its stored readings (sorted by seq). */
export function seqsForRange(stored: readonly ReadingTime[], range: { fromMs: number; toMs: number }): { from: bigint; to: bigint } {
  let from = 0n;
  let to = U64_MAX;
  for (const s of stored) {
    const at = Number(s.agentTimeMs);
    if (at < range.fromMs) from = s.seq + 1n;
    else if (at > range.toMs) {
      to = s.seq - 1n;
      break;
    }
  }
  return { from, to };
}

/**
 * The re-hash of a stored reading: SHA-256 over its stored canonical bytes, as the re-hash workers compute it
 * (rehash-hash.ts), or why it has none (an edit at rest left bytes that are no reading any more).
 */
function rehash(stored: StoredReading): { hash: Uint8Array } | { error: string } {
  if (stored.undecodable === undefined) return { hash: readingHash(stored.bytes) };
  try {
    return { hash: readingHash(encodeReading(stored.reading)) };
  } catch (err) {
    return { error: `stored values no longer encode as a reading: ${describe(err)}` };
  }
}

export function readingValues(r: Reading): ReadingValues {
  return {
    meterTimeMs: r.meterTimeMs === null ? null : r.meterTimeMs.toString(),
    agentTimeMs: r.agentTimeMs.toString(),
    status: r.status,
    registers: r.registers.map((g) => ({ obis: g.obis, value: g.value.toString(), scaler: g.scaler, unit: g.unit })),
  };
}

class Tally {
  readonly counts: Required<ReportCounts> = { matched: 0, tampered: 0, missing: 0, unanchored: 0, conflicts: 0, pending: 0 };
  readonly items: ReportItem[] = [];
  add(item: ReportItem): void {
    this.counts[item.outcome === 'conflict' ? 'conflicts' : item.outcome]++;
    this.items.push(item);
  }
}

export async function reconcile(o: ReconcileOptions): Promise<Report> {
  const now = o.now ?? (() => new Date());
  const started = now();
  const interval = BigInt(o.intervalMs ?? DEFAULT_INTERVAL_MS);
  const fresh = BigInt(started.getTime()) - 2n * interval; // newer than two intervals: pending, not missing
  const log = o.log.child({ component: 'reconcile' });
  const ledger = new LedgerClient(o.relayUrl, o.signal ? { signal: o.signal } : {});
  try {
    const current = await provenIndex(ledger, o);
    const { checkpoint, leaves } = current;
    log.info({ origin: checkpoint.origin, size: checkpoint.size.toString(), meters: leaves.length }, 'checkpoint and per-meter index verified');
    // a rotating ledger names its logs "<origin>/<period>" (the pinned key's name is the ledger's origin); one that
    // does not rotate is reconciled exactly as before, without a single request more
    const base = o.verifier.name;
    let plan: PeriodPlan | undefined;
    if (periodOfOrigin(base, checkpoint.origin) !== undefined) {
      const cache = o.periodCache ?? o.runs?.periodCache;
      plan = await loadPeriods(ledger, { ...o, ...(cache ? { cache } : {}) }, base, current);
      if (plan.logs.length === 0) plan.logs.push({ period: periodOfOrigin(base, checkpoint.origin)!, origin: checkpoint.origin, closed: false, checkpoint, leaves: new Map(leaves.map((l) => [l.meterId, l])), cached: false });
      if (plan.chain.alarm) log.error({ alarm: plan.chain.alarm }, 'CHAIN ALARM: the ledger\'s period logs do not chain');
      else log.info({ periods: plan.chain.periods }, 'period chain verified');
    }

    let witness: WitnessResult | undefined;
    if (o.witness) {
      witness = await witnessCheckpoint({
        checkpoint, note: current.note, signer: o.witness.signer, store: o.witness.store, consistencyProof: (a, b) => ledger.consistencyProof(a, b), now: started,
        ledger: { base, verifier: o.verifier, periodLink: (p) => ledger.periodLink(p), inclusionProof: (i, n, p) => ledger.inclusionProof(i, n, p), consistencyProof: (a, b, p) => ledger.consistencyProof(a, b, p) },
      });
      if (witness.alarm) log.error({ alarm: witness.alarm }, 'WITNESS ALARM: the ledger rewrote or forked its log');
    }

    const proven = new Map(leaves.map((l) => [l.meterId, l]));
    const ledgerMeters = plan ? plan.logs.flatMap((l) => [...l.leaves.keys()]) : proven.keys();
    const meterIds = [...new Set([...ledgerMeters, ...(await o.store.meters())])].sort();
    const tally = new Tally();
    const completeness: MeterCompleteness[] = [];
    const explained: ExplainedItem[] = [];
    const adjusted: AdjustedItem[] = [];
    let readingsDone = 0;
    const ranges = new Map<string, { from: bigint; to: bigint }>();
    let i = 0;
    // every meter's readings re-encoded and re-hashed from their values, on worker threads when there are many (rehash.ts)
    for await (const leaves of collectLeaves(o.store, meterIds, { ...(o.rehashWorkers === undefined ? {} : { workers: o.rehashWorkers }), ...(o.signal ? { signal: o.signal } : {}) })) {
      o.signal?.throwIfAborted();
      const meterId = leaves.meterId;
      const { mine, times } = leafView(leaves);
      const bySeq = new Map<bigint, StoredReading>(); // whole stored readings are read only where needed (divergent seqs, corrected originals)
      const leafOf = meterLeafHasher(meterId); // = meterLeafHash(anchor), without building each record
      const seqs = o.range ? seqsForRange(times, o.range) : undefined;
      if (seqs) ranges.set(meterId, seqs);
      const side = SideRecords.load(meterId, leafOf, o.gaps, o.corrections); // gap records and corrections take seqs too
      const merged = side.merge(mine);
      const wholeRoot = merged === mine ? leaves.root : undefined;
      const result: { matchedInBulk: number; verdicts: Array<LeafVerdict & { period?: string }> } = plan
        ? await comparePeriods(meterId, merged, plan.logs, ledger, o.signal, seqs, wholeRoot)
        : await compareMeter(meterId, merged, proven.get(meterId), ledger, o.signal, seqs, wholeRoot);
      tally.counts.matched += result.matchedInBulk;
      for (const v of result.verdicts) {
        if (side.claims(v)) continue;
        const base = { meterId, seq: v.seq.toString(10), ...(v.period === undefined ? {} : { period: v.period }) };
        if (v.kind === 'matched') tally.counts.matched++;
        else if (v.kind === 'missing') {
          const at = expectedTime(v.seq, times, interval);
          const pending = at !== undefined && at > fresh;
          tally.add({ ...base, outcome: pending ? 'pending' : 'missing', ledgerHash: toHex(v.ledger.readingHash), ...(pending ? { detail: 'anchored by the ledger, not yet collected: newer than two intervals' } : {}) });
        } else {
          const s = bySeq.get(v.seq) ?? (await o.store.readings(meterId, v.seq, v.seq, 1))[0];
          if (!s) throw new CollectorError('STORE_FAILED', `meter ${meterId} seq ${v.seq} was deleted during reconciliation; run it again`);
          const again = rehash(s);
          const collected = { collected: readingValues(s.reading), ...('hash' in again ? { collectedHash: toHex(again.hash) } : { detail: again.error }) };
          if (v.kind === 'tampered') {
            const keyDiffers = !bytesEqual(v.ledger.keyId, s.keyId);
            tally.add({ ...base, outcome: 'tampered', ...collected, ledgerHash: toHex(v.ledger.readingHash), ...(keyDiffers ? { detail: `key id ${toHex(s.keyId)} stored, ${toHex(v.ledger.keyId)} anchored` } : {}) });
          } else {
            const pending = s.reading.agentTimeMs > fresh;
            tally.add({ ...base, outcome: pending ? 'pending' : 'unanchored', ...collected, ...(pending ? { detail: 'collected, not yet anchored: newer than two intervals' } : {}) });
          }
        }
      }
      const sideOut = await side.outcome({
        received: times.map((x) => x.seq), original: async (seq) => bySeq.get(seq) ?? (await o.store.readings(meterId, seq, seq, 1))[0],
        fresh, ...(seqs ? { seqs } : {}), missing: result.verdicts.flatMap((v) => (v.kind === 'missing' ? [v.seq] : [])),
      });
      tally.counts.matched -= sideOut.provenLeaves; // matched counts readings; proven records are listed apart
      for (const it of sideOut.divergences) tally.add(it);
      explained.push(...sideOut.explained);
      adjusted.push(...sideOut.adjusted);
      completeness.push({ ...meterCompleteness(meterId, times, started, interval), ...(o.gaps ? { explainedMissing: sideOut.explainedMissing, unexplainedMissing: sideOut.unexplainedMissing } : {}) });
      readingsDone += times.length;
      o.onProgress?.({ meterId, metersDone: ++i, metersTotal: meterIds.length, readingsDone });
    }

    const conflicted = new Map<string, { meterId: string; seq: bigint; n: number; bytes: Uint8Array }>();
    for (const c of await o.store.conflicts()) {
      const r = ranges.get(c.meterId);
      if (o.range && (!r || c.seq < r.from || c.seq > r.to)) continue;
      const key = `${c.meterId}\u0000${c.seq}`;
      const entry = conflicted.get(key) ?? { meterId: c.meterId, seq: c.seq, n: 0, bytes: c.bytes };
      entry.n++;
      conflicted.set(key, entry);
    }
    for (const c of conflicted.values()) {
      const [stored] = await o.store.readings(c.meterId, c.seq, c.seq, 1);
      let delivered: ReadingValues | undefined;
      try {
        delivered = readingValues(decodeReading(c.bytes));
      } catch {
        delivered = undefined;
      }
      tally.add({
        meterId: c.meterId, seq: c.seq.toString(10), outcome: 'conflict', detail: `${c.n} conflicting delivery(ies) recorded`,
        ...(stored ? { collected: readingValues(stored.reading) } : {}), ...(delivered ? { delivered } : {}),
      });
    }

    o.signal?.throwIfAborted(); // a run cut short by the window is not a report
    const order = { tampered: 0, missing: 1, unanchored: 2, pending: 3, conflict: 4 } as const;
    tally.items.sort((a, b) =>
      a.meterId < b.meterId ? -1 : a.meterId > b.meterId ? 1 : BigInt(a.seq) < BigInt(b.seq) ? -1 : BigInt(a.seq) > BigInt(b.seq) ? 1 : order[a.outcome] - order[b.outcome],
    );
    const silentMeters = completeness.filter((m) => m.silent).map((m) => m.meterId);
    const divergent = tally.items.some((it) => it.outcome !== 'pending') || silentMeters.length > 0;
    const commitment = indexCommitment(checkpoint);
    const report: Report = {
      id: newReportId(started, randomBytes(4)),
      startedAt: started.toISOString(),
      finishedAt: now().toISOString(),
      checkpoint: { origin: checkpoint.origin, size: checkpoint.size.toString(10), rootHex: toHex(checkpoint.root) },
      counts: tally.counts,
      items: tally.items,
      outcome: witness?.alarm || plan?.chain.alarm ? 'alarm' : divergent ? 'divergent' : 'clean',
      index: { meters: commitment.meters.toString(), rootBase64: toBase64(commitment.root) },
      ...(witness ? { witness } : {}),
      meters: completeness,
      silentMeters,
      traffic: { requests: ledger.requests, bytes: ledger.bytesReceived },
      ...(o.gaps ? { explained } : {}),
      ...(o.corrections ? { adjusted } : {}),
      ...(plan ? {
        periods: plan.logs.map((l) => ({ period: l.period, origin: l.origin, closed: l.closed, size: l.checkpoint.size.toString(10), rootHex: toHex(l.checkpoint.root), ...(l.cached ? { cached: true } : {}) })),
        chain: plan.chain,
      } : {}),
    };
    await o.store.saveReport(report);
    o.runs?.saveRun(report);
    if (o.reportsDir !== undefined) writeReportFile(o.reportsDir, report);
    log.info({ id: report.id, outcome: report.outcome, ...report.counts, requests: ledger.requests, bytes: ledger.bytesReceived }, 'reconciliation finished');
    return report;
  } finally {
    ledger.close();
  }
}

/** When a reading `seq` should have been taken, from the nearest stored reading and the interval. */
function expectedTime(seq: bigint, stored: readonly ReadingTime[], interval: bigint): bigint | undefined {
  let below: ReadingTime | undefined;
  let above: ReadingTime | undefined;
  for (const s of stored) {
    if (s.seq < seq) below = s;
    else if (s.seq > seq) {
      above = s;
      break;
    }
  }
  if (below) return below.agentTimeMs + (seq - below.seq) * interval;
  if (above) return above.agentTimeMs - (above.seq - seq) * interval;
  return undefined;
}

function meterCompleteness(meterId: string, stored: readonly ReadingTime[], at: Date, interval: bigint): MeterCompleteness {
  if (stored.length === 0) return { meterId, received: 0, expected: 0, silent: true };
  const first = stored[0]!;
  const last = stored.reduce((a, s) => (s.agentTimeMs > a.agentTimeMs ? s : a), first);
  const nowMs = BigInt(at.getTime());
  const expected = nowMs >= first.agentTimeMs ? Number((nowMs - first.agentTimeMs) / interval) + 1 : stored.length;
  return {
    meterId,
    received: stored.length,
    expected,
    firstSeq: first.seq.toString(),
    lastSeq: stored[stored.length - 1]!.seq.toString(),
    lastReadingAt: new Date(Number(last.agentTimeMs)).toISOString(),
    silent: nowMs - last.agentTimeMs > 2n * interval,
  };
}

/** <dir>/<id>.json, written to a temporary name first so a reader never sees half a report. */
export function writeReportFile(dir: string, report: Report): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${report.id}.json`);
  writeFileSync(`${path}.tmp`, reportJson(report), { flag: 'w' });
  renameSync(`${path}.tmp`, path);
  return path;
}
