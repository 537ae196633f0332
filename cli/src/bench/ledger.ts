// `ledger`: the ledger's real ingest path, in process — its embedded broker, router, native verify, RFC 9162
// append to SQLite — fed by K meters over MQTT, against the ceiling of native verifies per second over all
// cores measured in the same run. Also the storage each anchor costs and the publish-to-answer tail.
//
// The ledger is started twice on one data directory: first to register, authenticate and bind the meters
// (as ledger-service/src/testing/fake-meter.ts onboard() does), then, after a restart, to take the anchors;
// the SQLite files are measured after each close (closing checkpoints the WAL into the database), so the
// difference is what the anchors alone cost.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DB_FILE, startLedger, type LedgerHandle } from '@meterseal/ledger-service';
import { bytesEqual, encodeAnchor, encodeSigned, keyId, nativePublicKey, signRecord, signingMessage, type KeyPair } from '@meterseal/protocol';
import { FakeMeter } from '@meterseal/ledger-service/testing/fake-meter';
import { writeWhitelist } from '@meterseal/ledger-service/testing/harness';
import { Closers } from './closers.js';
import { fsyncRate } from './fsync-rate.js';
import { cpuMeter } from './ledger-cpu.js';
import { CheckpointWatch, publishAll, type MeterLoad } from './ledger-load.js';
import { nativeSecretKey, signNative } from './sign-native.js';
import { verifyCeiling } from './verify-ceiling.js';
import { compare, timingFor, type Benchmark } from './types.js';

export const DEFAULT_ANCHORS = 5000;
export const DEFAULT_METERS = 20;
/** The agent's default maxInFlight (device/src/config.ts). */
const WINDOW = 32;

const silent = pino({ level: 'silent' });

function sqliteBytes(dataDir: string): number {
  const db = join(dataDir, DB_FILE);
  return [db, `${db}-wal`].reduce((sum, f) => sum + (existsSync(f) ? statSync(f).size : 0), 0);
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function startQuietLedger(dataDir: string): Promise<LedgerHandle> {
  // METERSEAL_BENCH_VERIFY_WORKERS: the ledger's ingest.verifyWorkers, for A/B runs (default: the ledger's own)
  const workers = process.env.METERSEAL_BENCH_VERIFY_WORKERS;
  return startLedger({ dataDir, mqtt: { port: 0 }, http: { port: 0 }, ...(workers ? { ingest: { verifyWorkers: Number(workers) } } : {}) }, { log: silent });
}

export const ledgerBench: Benchmark = {
  name: 'ledger',
  description: "the ledger's ingest path over MQTT (verified, appended, durable) vs native verifies/s over all cores",
  async run({ n = DEFAULT_ANCHORS, progress, quick }) {
    const timing = timingFor({ quick });
    const k = Math.max(1, Math.min(DEFAULT_METERS, n));
    const dataDir = mkdtempSync(join(tmpdir(), 'meterseal-bench-ledger-'));
    const ids = Array.from({ length: k }, (_, i) => ({ meterId: `bench-${String(i + 1).padStart(4, '0')}`, customerAccount: `bench-account-${i + 1}` }));
    const open = new Closers();
    try {
      // 1. onboard K meters: register, authenticate, bind a session key from seq 1
      progress(`ledger: onboarding ${k} meters`);
      writeWhitelist(dataDir, ids);
      const onboarding = await startQuietLedger(dataDir);
      open.add(() => onboarding.close());
      const sessions: KeyPair[] = [];
      for (const id of ids) {
        const m = await FakeMeter.connect({ url: onboarding.mqttUrl, ...id });
        open.add(() => m.close());
        await m.onboard(1n);
        sessions.push(m.session!.keys);
      }
      await open.closeAll();
      const bytesBefore = sqliteBytes(dataDir);

      // 2. pre-sign every anchor before anything is timed (native signing: the same bytes as noble, checked)
      progress(`ledger: pre-signing ${n} anchors for ${k} meters`);
      const perMeter: MeterLoad['anchors'][] = ids.map(() => []);
      const ceilingItems: { message: Uint8Array; signature: Uint8Array }[] = [];
      let signedBytes = 0;
      const secrets = sessions.map((s) => nativeSecretKey(s.secretKey));
      const keyIds = sessions.map((s) => keyId(s.publicKey));
      for (let i = 0; i < n; i++) {
        const j = i % k;
        const seq = BigInt(Math.floor(i / k) + 1);
        const record = encodeAnchor({ meterId: ids[j]!.meterId, seq, keyId: keyIds[j]!, readingHash: new Uint8Array(randomBytes(32)) });
        const message = signingMessage(record);
        const signature = signNative(message, secrets[j]!);
        if (i < k && !bytesEqual(signature, signRecord(record, sessions[j]!.secretKey))) throw new Error('native and noble anchor signatures differ');
        const signed = encodeSigned(record, signature);
        signedBytes += signed.length;
        perMeter[j]!.push({ seq, signed });
        if (j === 0) ceilingItems.push({ message, signature });
      }

      // 3. the reference: native verifies per second over every core, nothing else running
      progress('ledger: measuring the verify ceiling (one worker thread per core, ~1 s)');
      const spki = new Uint8Array(nativePublicKey(sessions[0]!.publicKey).export({ format: 'der', type: 'spki' }));
      const ceiling = await verifyCeiling({ spki, items: ceilingItems }, { ms: timing.ceilingMs });
      progress('ledger: measuring durable 4 KiB appends per second in the data directory (~1 s)');
      const fsyncs = fsyncRate(dataDir, timing.fsyncMs);

      // 4. restart the ledger and publish everything
      const ledger = await startQuietLedger(dataDir);
      open.add(() => ledger.close());
      const loads: MeterLoad[] = [];
      for (const [j, id] of ids.entries()) {
        const meter = await FakeMeter.connect({ url: ledger.mqttUrl, ...id });
        open.add(() => meter.close());
        loads.push({ meter, anchors: perMeter[j]! });
      }
      progress(`ledger: publishing ${n} anchors from ${k} meters, ${WINDOW} in flight per meter`);
      const watch = new CheckpointWatch(ledger.httpUrl);
      const cpuEnd = cpuMeter();
      const run = await publishAll(loads, { window: WINDOW, progress, timeoutMs: Math.max(60_000, n * 20) });
      const cpu = cpuEnd(n);
      const anchored = ledger.stats().anchored;
      if (anchored !== n) throw new Error(`the ledger counts ${anchored} anchors, expected ${n}`);
      const lastLeaf = run.leafIndex.reduce((m, x) => Math.max(m, x), 0);
      await watch.stopWhenCovers(lastLeaf + 1);
      const toCheckpoint = watch.latencies(run.sent, run.leafIndex);
      const uncovered = toCheckpoint.filter((x) => Number.isNaN(x)).length;
      if (uncovered > 0) throw new Error(`${uncovered} anchors were never seen in a signed checkpoint`);
      const cpSorted = Float64Array.from(toCheckpoint).sort();
      await open.closeAll();
      const bytesAfter = sqliteBytes(dataDir);

      const sorted = Float64Array.from(run.latenciesMs).sort();
      const rate = (run.anchors * 1000) / run.ms;
      // an inclusion proof at 10^9 leaves: ⌈log2(10^9)⌉ = 30 sibling hashes of 32 bytes (RFC 9162 §2.1.3.1)
      const proofBytesAt1e9 = Math.ceil(Math.log2(1e9)) * 32;
      return {
        name: 'ledger',
        params: {
          // the keys issue 3 names for `bench ledger --json`
          readingsPerSec: Math.round(rate), verifyCeilingPerSec: Math.round(ceiling.perSec), ratio: Math.round((rate / ceiling.perSec) * 1000) / 1000,
          p99CheckpointLatencyMs: Math.round(percentile(cpSorted, 99)), bytesPerReading: Math.round(((bytesAfter - bytesBefore) / n) * 10) / 10, proofBytesAt1e9,
          anchors: n, meters: k, inFlightPerMeter: WINDOW, seconds: Math.round(run.ms) / 1000, ceilingWorkers: ceiling.workers,
          sqliteBytesBefore: bytesBefore, sqliteBytesAfter: bytesAfter,
          // CPU per anchor while publishing (ledger-cpu.ts), with the one-core cost of a verify from the ceiling
          cpuUsPerAnchor: Math.round(cpu.processUsPerAnchor), ...(cpu.mainThreadUsPerAnchor === undefined ? {} : { mainThreadUsPerAnchor: Math.round(cpu.mainThreadUsPerAnchor) }),
          verifyUsPerCore: Math.round((1e6 * ceiling.workers) / ceiling.perSec),
          // the CPU-time bound on the ratio: rate ≤ cores / cpuUsPerAnchor and ceiling = cores / verify CPU, so
          // ratio ≤ verifyCpuUs / cpuUsPerAnchor however the threads overlap (docs/performance.md §ledger)
          ...(ceiling.cpuUsPerVerify !== undefined
            ? { verifyCpuUs: Math.round(ceiling.cpuUsPerVerify), cpuBoundRatio: Math.round((ceiling.cpuUsPerVerify / cpu.processUsPerAnchor) * 1000) / 1000 }
            : {}),
        },
        figures: [
          compare(
            { metric: 'ingest end to end (verified, appended, durable)', value: rate, unit: 'anchors/s' },
            { metric: `verifyCeilingPerSec (native, ${ceiling.workers} cores)`, value: ceiling.perSec, unit: 'verifies/s' },
            'ratio ≥ 0.75',
          ),
          compare(
            { metric: 'ingest end to end', value: rate, unit: 'anchors/s' },
            { metric: 'durable appends (write 4 KiB + fdatasync, same disk)', value: fsyncs, unit: 'fsyncs/s' },
          ),
          compare(
            { metric: 'ledger SQLite storage per anchor', value: (bytesAfter - bytesBefore) / n, unit: 'bytes' },
            { metric: 'signed anchor (the log entry itself)', value: signedBytes / n, unit: 'bytes' },
            'value ≤ 128 bytes',
          ),
          compare(
            { metric: 'latency publish → answer, p99', value: percentile(sorted, 99), unit: 'ms' },
            { metric: 'latency publish → answer, p50', value: percentile(sorted, 50), unit: 'ms' },
          ),
          compare(
            { metric: 'publish → first signed checkpoint covering the anchor, p99', value: percentile(cpSorted, 99), unit: 'ms' },
            { metric: 'the same, p50', value: percentile(cpSorted, 50), unit: 'ms' },
            'value ≤ 2,000 ms',
          ),
          compare(
            { metric: 'inclusion proof at 10^9 leaves (RFC 9162 §2.1.3.1: ⌈log2 n⌉ hashes)', value: proofBytesAt1e9, unit: 'bytes' },
            { metric: 'the same at this run\'s log size', value: Math.ceil(Math.log2(Math.max(2, lastLeaf + 1))) * 32, unit: 'bytes' },
            'value ≤ 1,536 bytes (1.5 KB)',
          ),
        ],
        notes: [`${WINDOW} anchors in flight per meter (${WINDOW * k} in all): latency includes queueing behind them`],
      };
    } finally {
      await open.closeAll().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
