// `reconcile`: the collector's reconciliation of M stored readings against a ledger's anchored hashes —
// directly against the query API, and through the real air-gap controller (a window opened, the relay in
// between, the window closed and audited). The fake ledger, meters and readings are collector-system's
// own test helpers (collector-system/src/testing/), so only the collector's and the gap's work is timed.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { startAirgap, type AuditRecord } from '@meterseal/airgap-controller';
import { openSqliteStore, reconcile, reconcileThroughAirgap, type NewReading, type Report } from '@meterseal/collector-system';
import { anchorBytesOfReading, bytesEqual, parseVerifierKey, signingMessage } from '@meterseal/protocol';
import { deliver, makeLedgerKey, makeMeter, makeReading, type TestMeter } from '@meterseal/collector-system/testing/fixtures';
import { startFakeLedger } from '@meterseal/collector-system/testing/fake-ledger';
import { Closers } from './closers.js';
import { nativeSecretKey, signNative } from './sign-native.js';
import { compare, type Benchmark } from './types.js';

export const DEFAULT_READINGS = 20_000;
export const DEFAULT_METERS = 20;
const INSERT_BATCH = 1000;
const ROUNDS = 3;
const RECEIVED_AT = '2026-11-21T12:00:00.000Z';

const silent = pino({ level: 'silent' });

function assertAllMatched(report: Report, m: number, how: string): void {
  const c = report.counts;
  if (c.matched !== m || c.tampered + c.missing + c.unanchored + c.conflicts > 0) {
    throw new Error(`${how} reconciliation did not match all ${m} readings: ${JSON.stringify(c)}`);
  }
}

export const reconcileBench: Benchmark = {
  name: 'reconcile',
  description: "the collector's reconciliation of M readings, directly and through the air-gap controller",
  async run({ n = DEFAULT_READINGS, progress }) {
    const k = Math.max(1, Math.min(DEFAULT_METERS, n));
    const dir = mkdtempSync(join(tmpdir(), 'meterseal-bench-reconcile-'));
    const key = makeLedgerKey();
    const verifier = parseVerifierKey(key.vkey);
    const store = openSqliteStore(dir);
    const closers = new Closers();
    closers.add(() => store.close());
    try {
      const ledger = await startFakeLedger(key);
      closers.add(() => ledger.close());

      // M signed readings, anchored on the fake ledger and stored in the collector. Signed natively (the
      // same bytes as the device's noble signature, checked per meter) because noble would take seconds.
      progress(`reconcile: preparing ${n} signed readings for ${k} meters`);
      const meters: TestMeter[] = Array.from({ length: k }, (_, i) => makeMeter(`bench-${String(i + 1).padStart(4, '0')}`, key, { firstSeq: 1n }));
      const secrets = meters.map((m) => nativeSecretKey(m.session.secretKey));
      let batch: NewReading[] = [];
      let signedAnchorBytes = 0;
      for (let i = 0; i < n; i++) {
        const j = i % k;
        const meter = meters[j]!;
        const reading = makeReading(meter.meterId, BigInt(Math.floor(i / k) + 1));
        const unsigned = deliver(meter, reading, { sign: false });
        const anchor = anchorBytesOfReading(unsigned.readingBytes, reading, meter.keyId);
        const signature = signNative(signingMessage(anchor), secrets[j]!);
        if (i < k && !bytesEqual(signature, deliver(meter, reading).signature)) throw new Error('native and noble reading signatures differ');
        const d = { ...unsigned, signature };
        signedAnchorBytes += anchor.length + signature.length;
        ledger.anchor(meter, d);
        batch.push({ reading, bytes: d.readingBytes, keyId: meter.keyId, signature, receivedAt: RECEIVED_AT });
        if (batch.length === INSERT_BATCH || i === n - 1) {
          await store.insertReadings(batch);
          batch = [];
        }
      }

      const airgap = await startAirgap(
        { control: { host: '127.0.0.1', port: 0 }, relay: { host: '127.0.0.1', port: 0 }, target: ledger.endpoint, auditLog: join(dir, 'airgap', 'audit.jsonl') },
        { log: silent },
      );
      closers.add(() => airgap.close());

      const direct = async (): Promise<number> => {
        const t0 = performance.now();
        const report = await reconcile({ store, relayUrl: ledger.url, verifier, log: silent });
        const ms = performance.now() - t0;
        assertAllMatched(report, n, 'direct');
        return ms;
      };
      const throughGap = async (): Promise<number> => {
        const t0 = performance.now();
        const report = await reconcileThroughAirgap({ store, airgap: airgap.controlAddress, verifier, reason: 'meterseal bench', log: silent });
        const ms = performance.now() - t0;
        assertAllMatched(report, n, 'through-gap');
        return ms;
      };

      progress(`reconcile: ${n} readings, one warm-up run, then direct and through the gap in alternating rounds`);
      await direct();
      const directMs: number[] = [];
      const gapMs: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        directMs.push(await direct());
        gapMs.push(await throughGap());
        progress(`reconcile: round ${round + 1}/${ROUNDS} done`);
      }
      const best = (xs: number[]): number => Math.min(...xs);

      // The controller audits each window's traffic when it closes (AuditRecord bytesToTarget/FromTarget).
      const closes = readFileSync(join(dir, 'airgap', 'audit.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as AuditRecord)
        .filter((r) => r.event === 'close');
      const last = closes.at(-1);
      await closers.closeAll();
      const figures = [
        compare(
          { metric: 'reconcile through the air gap', value: (n * 1000) / best(gapMs), unit: 'readings/s' },
          { metric: 'reconcile direct (no gap)', value: (n * 1000) / best(directMs), unit: 'readings/s' },
        ),
      ];
      if (last && last.bytesToTarget !== null && last.bytesFromTarget !== null) {
        figures.push(
          compare(
            { metric: 'bytes across the gap per reading (both ways)', value: (last.bytesToTarget + last.bytesFromTarget) / n, unit: 'bytes' },
            { metric: 'signed anchor per reading', value: signedAnchorBytes / n, unit: 'bytes' },
          ),
        );
      }
      return {
        name: 'reconcile',
        params: {
          readings: n, meters: k, rounds: ROUNDS,
          ...(last ? { gapBytesToLedger: last.bytesToTarget ?? 'n/a', gapBytesFromLedger: last.bytesFromTarget ?? 'n/a' } : {}),
        },
        figures,
        notes: [`best of ${ROUNDS} alternating rounds each, after one untimed warm-up run; the gap run includes opening and closing the window`],
      };
    } finally {
      await closers.closeAll().catch(() => undefined); // after a failure: best effort
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
