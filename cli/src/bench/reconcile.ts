// `reconcile`: the collector's reconciliation of N stored readings against a real ledger log, through the
// real air-gap controller (a window opened, the relay in between, the window closed and audited).
//   - the ledger: ledger-service's SQLite store, log and read-only query API, its anchors appended in
//     batches (group commit, with the per-meter index kept up to date) — signatures are not checked by
//     reconciliation, so anchors and readings carry a filler signature and the meters' ingest is skipped;
//   - the collector: its SQLite store filled with the same readings' values.
// Prints {readings, bytesAcrossGap, seconds, roundTripsToLocate}: a clean window (every meter root
// matches), then one reading altered at rest and located (meter, seq) by walking the ledger's tree.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { startAirgap, type AuditRecord } from '@meterseal/airgap-controller';
import { REHASH_WORKER_THRESHOLD as WORKER_THRESHOLD, openSqliteStore, reconcileThroughAirgap, tamperStoredReadings, type NewReading, type Report } from '@meterseal/collector-system';
import { LedgerLog, openSqliteStore as openLedgerStore, startHttp, type AppendRequest, type LedgerStats } from '@meterseal/ledger-service';
import { encodeAnchor, encodeReading, encodeSigned, keyId, parseVerifierKey, readingHash } from '@meterseal/protocol';
import { makeLedgerKey, makeReading } from '@meterseal/collector-system/testing/fixtures';
import { Closers } from './closers.js';
import { compare, type Benchmark } from './types.js';

/** About a minute on a 2-core machine, preparation included. */
export const DEFAULT_READINGS = 200_000;
/** Readings per meter: 10 000 is about 104 days of 15-minute readings. */
export const READINGS_PER_METER = 10_000;
const BATCH = 5000;
const FILLER_SIGNATURE = new Uint8Array(64).fill(0x5a);
const RECEIVED_AT = '2026-11-21T12:00:00.000Z';
/** Largest N for which the one-thread reference window is run too. */
const REFERENCE_MAX = 2_000_000;

const silent = pino({ level: 'silent' });

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

function windowBytes(auditPath: string): number[] {
  return readFileSync(auditPath, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as AuditRecord)
    .filter((r) => r.event === 'close')
    .map((r) => (r.bytesToTarget ?? 0) + (r.bytesFromTarget ?? 0));
}

export const reconcileBench: Benchmark = {
  name: 'reconcile',
  description: "the collector's reconciliation of N readings against a real ledger log through the air gap: clean window, then one altered reading located",
  async run({ n = DEFAULT_READINGS, progress }) {
    const k = Math.max(1, Math.ceil(n / READINGS_PER_METER));
    const dir = mkdtempSync(join(tmpdir(), 'meterseal-bench-reconcile-'));
    const key = makeLedgerKey();
    const verifier = parseVerifierKey(key.vkey);
    const closers = new Closers();
    try {
      const store = openSqliteStore(join(dir, 'collector'));
      closers.add(() => store.close());
      const ledgerStore = openLedgerStore(join(dir, 'ledger.sqlite'));
      closers.add(() => ledgerStore.close());
      const log = new LedgerLog(ledgerStore, key.origin, key.signer);

      progress(`reconcile: preparing ${n} readings of ${k} meters in the ledger's log and the collector's store`);
      const t0 = performance.now();
      const keyIds = Array.from({ length: k }, (_, j) => keyId(new Uint8Array(32).fill(j % 251)));
      let anchors: Omit<AppendRequest, 'index'>[] = [];
      let readings: NewReading[] = [];
      const flush = async (): Promise<void> => {
        log.appendBatch(anchors);
        await store.insertReadings(readings);
        anchors = [];
        readings = [];
      };
      for (let i = 0; i < n; i++) {
        const j = i % k;
        const meterId = `bench-${String(j + 1).padStart(5, '0')}`;
        const reading = makeReading(meterId, BigInt(Math.floor(i / k) + 1));
        const bytes = encodeReading(reading);
        const anchor = { meterId, seq: reading.seq, keyId: keyIds[j]!, readingHash: readingHash(bytes) };
        anchors.push({ entry: encodeSigned(encodeAnchor(anchor), FILLER_SIGNATURE), effect: { kind: 'anchor', anchor } });
        readings.push({ reading, bytes, keyId: keyIds[j]!, signature: FILLER_SIGNATURE, receivedAt: RECEIVED_AT });
        if (anchors.length === BATCH) await flush();
        if (i > 0 && i % 500_000 === 0) progress(`reconcile: ${i} readings prepared`);
      }
      if (anchors.length > 0) await flush();
      log.checkpointNow();
      const prepareSeconds = (performance.now() - t0) / 1000;

      const stats = (): LedgerStats => ({}) as LedgerStats;
      const http = await startHttp({ store: ledgerStore, log, stats, maxRangePerRequest: 10_000, logger: silent }, '127.0.0.1', 0);
      closers.add(() => http.close());
      const auditPath = join(dir, 'airgap', 'audit.jsonl');
      const airgap = await startAirgap(
        { control: { host: '127.0.0.1', port: 0 }, relay: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: http.port }, auditLog: auditPath, maxWindowMs: 3_600_000 },
        { log: silent },
      );
      closers.add(() => airgap.close());
      // readings are from 2026-11-21T12:00Z on, one a second: "now" a day later, interval 1 s: nothing pending
      const now = (): Date => new Date(1_795_262_400_000 + 86_400_000 + n * 1000);
      const window = (reason: string, rehashWorkers?: number): Promise<Report> =>
        reconcileThroughAirgap({
          store, airgap: airgap.controlAddress, verifier, reason, log: silent, maxMs: 3_600_000,
          reconcile: { now, intervalMs: 1000, ...(rehashWorkers === undefined ? {} : { rehashWorkers }) },
        });

      progress('reconcile: a clean window');
      const c0 = performance.now();
      const cpu0 = process.cpuUsage(); // all of this process's threads: the re-hash workers included
      const clean = await window('meterseal bench: clean window');
      const seconds = (performance.now() - c0) / 1000;
      const cleanCpuSeconds = cpuSecondsSince(cpu0);
      if (clean.counts.matched !== n || clean.items.some((it) => it.outcome !== 'pending')) throw new Error(`the clean window did not match all ${n} readings: ${JSON.stringify(clean.counts)}`);

      // the reference: the same clean window re-hashed on the calling thread (skipped above REFERENCE_MAX: it is slow)
      let oneThreadSeconds: number | undefined;
      let oneThreadCpuSeconds = 0;
      if (n <= REFERENCE_MAX) {
        progress('reconcile: the same clean window, re-hashed on the calling thread (reference)');
        const o0 = performance.now();
        const ocpu0 = process.cpuUsage();
        const again = await window('meterseal bench: clean window, one thread', 0);
        oneThreadSeconds = (performance.now() - o0) / 1000;
        oneThreadCpuSeconds = cpuSecondsSince(ocpu0);
        if (again.counts.matched !== n) throw new Error(`the one-thread clean window did not match all ${n} readings: ${JSON.stringify(again.counts)}`);
      }

      progress('reconcile: one reading altered at rest, located');
      const [altered] = tamperStoredReadings(store, 1, () => 0.5);
      const l0 = performance.now();
      const located = await window('meterseal bench: locate one altered reading');
      const locateSeconds = (performance.now() - l0) / 1000;
      const item = located.items.find((it) => it.outcome === 'tampered');
      if (located.counts.tampered !== 1 || item?.meterId !== altered!.meterId || item.seq !== String(altered!.seq)) {
        throw new Error(`the altered reading ${altered!.meterId}/${altered!.seq} was not located: ${JSON.stringify(located.items.slice(0, 3))}`);
      }
      const audited = windowBytes(auditPath); // clean, [one-thread clean,] locate
      const cleanBytes = audited[0];
      const locateBytes = audited[oneThreadSeconds === undefined ? 1 : 2];
      await closers.closeAll();
      const perMeter = Math.ceil(n / k);
      return {
        name: 'reconcile',
        params: {
          readings: n,
          bytesAcrossGap: cleanBytes ?? clean.traffic!.bytes,
          seconds: Number(seconds.toFixed(2)),
          roundTripsToLocate: located.traffic!.requests,
          meters: k,
          readingsPerMeter: perMeter,
          cleanRequests: clean.traffic!.requests,
          locateBytesAcrossGap: locateBytes ?? located.traffic!.bytes,
          locateSeconds: Number(locateSeconds.toFixed(2)),
          prepareSeconds: Number(prepareSeconds.toFixed(1)),
          located: `${item.meterId}/${item.seq}`,
          rehashWorkers: n >= WORKER_THRESHOLD ? Math.min(8, availableParallelism()) : 0,
          cleanCpuSeconds: Number(cleanCpuSeconds.toFixed(2)),
          ...(oneThreadSeconds === undefined ? {} : { oneThreadSeconds: Number(oneThreadSeconds.toFixed(2)), oneThreadCpuSeconds: Number(oneThreadCpuSeconds.toFixed(2)) }),
          loadAverageAtClean: Number(loadavg()[0]!.toFixed(1)),
        },
        figures: [
          compare(
            { metric: 'clean window: bytes across the gap', value: cleanBytes ?? 0, unit: 'bytes' },
            { metric: 'readings confirmed', value: n, unit: 'readings' },
            'value ≤ 1 MB for 10^7 readings',
          ),
          compare(
            { metric: 'clean window through the gap', value: seconds, unit: 's' },
            { metric: 'readings per second', value: n / seconds, unit: 'readings/s' },
            'value ≤ 60 s for 10^7 readings',
          ),
          ...(oneThreadSeconds === undefined ? [] : [compare(
            { metric: 'clean window, re-hash on worker threads (readings/s)', value: n / seconds, unit: 'readings/s' },
            { metric: 'same window re-hashed on the calling thread', value: n / oneThreadSeconds, unit: 'readings/s' },
          )]),
          compare(
            { metric: 'round trips to locate one altered reading', value: located.traffic!.requests, unit: 'requests' },
            { metric: 'log2(readings per meter / 64) + 2 (index page + tree walk)', value: Math.ceil(Math.log2(Math.max(2, perMeter / 64))) + 2, unit: 'requests' },
          ),
        ],
        notes: [
          'anchors appended to the ledger store directly (group commits) and readings inserted into the collector store with a filler signature: reconciliation checks hashes, not signatures',
          'bytes across the gap: the air-gap controller\'s audit of the window (both directions, headers included)',
          'cpu seconds: the whole process (main thread, re-hash workers, ledger and relay in the same process); on a machine loaded by other sessions the wall-clock gain of workers needs free cores',
        ],
      };
    } finally {
      await closers.closeAll().catch(() => undefined); // after a failure: best effort
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
