// Reconciliation (README §Reconciliation): every stored reading is re-encoded from its stored VALUES with
// the protocol's encodeReading and hashed again — a stored hash is never trusted, none is stored — and
// compared with the hash the ledger anchored for the same (meter, seq), under a checkpoint verified with the
// pinned ledger verifier key (docs/protocol.md §10).
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { bytesEqual, encodeReading, openCheckpoint, readingHash, toHex, type NoteVerifier } from '@meterseal/protocol';
import { CollectorError, describe } from './errors.js';
import { ANCHOR_PAGE, LedgerClient, type LedgerAnchor, type LedgerMeter } from './ledger-client.js';
import { newReportId, type Report, type ReportCounts, type ReportItem } from './report.js';
import type { CollectorStore, StoredReading } from './store.js';

const U64_MAX = (1n << 64n) - 1n;

export interface ReconcileProgress {
  meterId: string;
  metersDone: number;
  metersTotal: number;
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
}

/** The re-hash of a stored reading, or why it cannot be re-encoded (an edit at rest broke its encoding). */
function rehash(stored: StoredReading): { hash: Uint8Array } | { error: string } {
  try {
    return { hash: readingHash(encodeReading(stored.reading)) };
  } catch (err) {
    return { error: `stored values no longer encode as a reading: ${describe(err)}` };
  }
}

class Tally {
  readonly counts: ReportCounts = { matched: 0, tampered: 0, missing: 0, unanchored: 0, conflicts: 0 };
  readonly items: ReportItem[] = [];

  compare(meterId: string, seq: bigint, stored: StoredReading | undefined, anchor: LedgerAnchor | undefined): void {
    const base = { meterId, seq: seq.toString(10) };
    if (stored === undefined) {
      this.counts.missing++;
      this.items.push({ ...base, outcome: 'missing', ledgerHash: toHex(anchor!.readingHash) });
      return;
    }
    const again = rehash(stored);
    const collected = 'hash' in again ? { collectedHash: toHex(again.hash) } : { detail: again.error };
    if (anchor === undefined) {
      this.counts.unanchored++;
      this.items.push({ ...base, outcome: 'unanchored', ...collected });
    } else if ('hash' in again && bytesEqual(again.hash, anchor.readingHash)) {
      this.counts.matched++;
    } else {
      this.counts.tampered++;
      this.items.push({ ...base, outcome: 'tampered', ...collected, ledgerHash: toHex(anchor.readingHash) });
    }
  }
}

/**
 * Pages through one meter's seqs in ranges of ANCHOR_PAGE, from the lowest seq either side knows of, until
 * past the highest one either side knows of and the ledger has nothing more in a whole page.
 */
async function reconcileMeter(meterId: string, ledgerMeter: LedgerMeter | undefined, o: ReconcileOptions, ledger: LedgerClient, tally: Tally): Promise<void> {
  const range = await o.store.seqRange(meterId);
  const lows = [range?.min, ledgerMeter?.firstSeq].filter((v): v is bigint => v !== undefined);
  const highs = [range?.max, ledgerMeter?.lastSeq].filter((v): v is bigint => v !== undefined);
  // Without the ledger's own range, start at 0 so that readings lost before the first collected one show as missing.
  let from = ledgerMeter?.firstSeq !== undefined && lows.length > 0 ? lows.reduce((a, b) => (b < a ? b : a)) : 0n;
  const highest = highs.length > 0 ? highs.reduce((a, b) => (b > a ? b : a)) : -1n;
  for (;;) {
    o.signal?.throwIfAborted();
    const to = from + ANCHOR_PAGE - 1n > U64_MAX ? U64_MAX : from + ANCHOR_PAGE - 1n;
    const anchors = await ledger.anchors(meterId, from, to);
    const stored = await o.store.readings(meterId, from, to, Number(ANCHOR_PAGE));
    const bySeq = new Map<bigint, StoredReading>(stored.map((s) => [s.reading.seq, s]));
    for (const anchor of anchors) {
      tally.compare(meterId, anchor.seq, bySeq.get(anchor.seq), anchor);
      bySeq.delete(anchor.seq);
    }
    for (const [seq, s] of bySeq) tally.compare(meterId, seq, s, undefined);
    if (to === U64_MAX || (from > highest && anchors.length === 0) || (to >= highest && ledgerMeter?.lastSeq !== undefined)) return;
    from = to + 1n;
  }
}

export async function reconcile(o: ReconcileOptions): Promise<Report> {
  const now = o.now ?? (() => new Date());
  const started = now();
  const log = o.log.child({ component: 'reconcile' });
  const ledger = new LedgerClient(o.relayUrl, o.signal ? { signal: o.signal } : {});
  try {
    const note = await ledger.checkpointNote();
    let checkpoint;
    try {
      checkpoint = openCheckpoint(note, o.verifier); // c2sp.org/signed-note: signed by the pinned key, or refused
    } catch (cause) {
      throw new CollectorError('CHECKPOINT_INVALID', `the ledger's checkpoint does not verify with the pinned key ${o.verifier.name}: ${describe(cause)}`, { cause });
    }
    log.info({ origin: checkpoint.origin, size: checkpoint.size.toString() }, 'checkpoint verified');

    const ledgerMeters = new Map((await ledger.meters()).map((m) => [m.meterId, m]));
    const meterIds = [...new Set([...ledgerMeters.keys(), ...(await o.store.meters())])].sort();
    const tally = new Tally();
    for (const [i, meterId] of meterIds.entries()) {
      await reconcileMeter(meterId, ledgerMeters.get(meterId), o, ledger, tally);
      o.onProgress?.({ meterId, metersDone: i + 1, metersTotal: meterIds.length });
    }

    const conflicted = new Map<string, { meterId: string; seq: bigint; n: number }>();
    for (const c of await o.store.conflicts()) {
      const key = `${c.meterId}\u0000${c.seq}`;
      const entry = conflicted.get(key) ?? { meterId: c.meterId, seq: c.seq, n: 0 };
      entry.n++;
      conflicted.set(key, entry);
    }
    for (const c of conflicted.values()) {
      tally.counts.conflicts++;
      tally.items.push({ meterId: c.meterId, seq: c.seq.toString(10), outcome: 'conflict', detail: `${c.n} conflicting delivery(ies) recorded` });
    }

    o.signal?.throwIfAborted(); // a run cut short by the window is not a report
    const order = { tampered: 0, missing: 1, unanchored: 2, conflict: 3 } as const;
    tally.items.sort((a, b) =>
      a.meterId < b.meterId ? -1 : a.meterId > b.meterId ? 1 : BigInt(a.seq) < BigInt(b.seq) ? -1 : BigInt(a.seq) > BigInt(b.seq) ? 1 : order[a.outcome] - order[b.outcome],
    );
    const report: Report = {
      id: newReportId(started, randomBytes(4)),
      startedAt: started.toISOString(),
      finishedAt: now().toISOString(),
      checkpoint: { origin: checkpoint.origin, size: checkpoint.size.toString(10), rootHex: toHex(checkpoint.root) },
      counts: tally.counts,
      items: tally.items,
    };
    await o.store.saveReport(report);
    if (o.reportsDir !== undefined) writeReportFile(o.reportsDir, report);
    log.info({ id: report.id, ...report.counts }, 'reconciliation finished');
    return report;
  } finally {
    ledger.close();
  }
}

/** <dir>/<id>.json, written to a temporary name first so a reader never sees half a report. */
export function writeReportFile(dir: string, report: Report): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${report.id}.json`);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(report, null, 2)}\n`, { flag: 'w' });
  renameSync(`${path}.tmp`, path);
  return path;
}
