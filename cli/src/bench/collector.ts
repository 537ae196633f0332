// `collector`: batched ingestion into the real collector store (collector-system's SQLite store), two ways:
//   - verified readings into the store, in batches of the intake's Batcher size (what ingest does after the
//     signature checks), then the same readings again: every one must come back "duplicate" and the store
//     must hold no new row (idempotent on (meter, seq)). The store keeps ONE row per reading: its canonical
//     bytes and the columns it is found by (collector-system/src/sqlite-schema.ts). Reference: plain SQLite
//     inserts of the same rows into the same schema in one transaction (no duplicate check, no outcome), and
//     the same readings as plain inserts into the schema-2 layout (1 + 8 register rows each): before/after.
//   - the full intake path without MQTT: key announcements first, then every Delivery decoded, its key looked
//     up, its signature verified natively, and stored through the Batcher, answered. Reference: native
//     Ed25519 verification alone of the same signed anchors on one core (the path's ceiling on one thread).
// Readings are shaped like the device's (8 registers, readings.ts), meters interleaved as they report.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSqliteStore, type NewReading } from '@meterseal/collector-system';
import { benchIntake, rawLegacyInsert, rawSqliteInsert, type ResponseBody } from '@meterseal/collector-system/testing/bench';
import { makeLedgerKey, makeMeter, type TestMeter } from '@meterseal/collector-system/testing/fixtures';
import {
  anchorBytesOfReading, bytesEqual, encodeDelivery, encodeReading, nativePublicKey, signRecord, signingMessage, verifyNative,
} from '@meterseal/protocol';
import { Closers } from './closers.js';
import { benchReadings } from './readings.js';
import { nativeSecretKey, signNative } from './sign-native.js';
import { measureRate } from './timing.js';
import { compare, timingFor, type Benchmark } from './types.js';

export const DEFAULT_READINGS = 50_000;
/** Readings per meter in the run: meters = N / 500, each reporting in turn. */
const READINGS_PER_METER = 500;
/** The intake's Batcher size (collector-system/src/batcher.ts). */
const BATCH = 512;
/** Deliveries handed to the intake at once (MQTT hands it whatever arrived on the socket). */
const IN_FLIGHT = 2048;
const RECEIVED_AT = '2026-11-21T12:00:00.000Z';

interface Prepared {
  /** The key that certified the meters' identity keys: the intake checks their announcements with it. */
  ledgerPublicKey: Uint8Array;
  meters: TestMeter[];
  items: NewReading[];
  payloads: { meterId: string; payload: Uint8Array }[];
  signed: { message: Uint8Array; signature: Uint8Array; meter: number }[];
}

function prepare(n: number): Prepared {
  const k = Math.max(1, Math.ceil(n / READINGS_PER_METER));
  const ledger = makeLedgerKey();
  const meters = Array.from({ length: k }, (_, j) => makeMeter(`bench-${String(j + 1).padStart(5, '0')}`, ledger, { firstSeq: 1n }));
  const secrets = meters.map((m) => nativeSecretKey(m.session.secretKey));
  const perMeter = meters.map((m) => benchReadings(m.meterId, Math.ceil(n / k)));
  const out: Prepared = { ledgerPublicKey: ledger.keys.publicKey, meters, items: [], payloads: [], signed: [] };
  for (let i = 0; i < n; i++) {
    const j = i % k;
    const m = meters[j]!;
    const reading = perMeter[j]![Math.floor(i / k)]!;
    const bytes = encodeReading(reading);
    const message = signingMessage(anchorBytesOfReading(bytes, reading, m.keyId));
    const signature = signNative(message, secrets[j]!);
    out.items.push({ reading, bytes, keyId: m.keyId, signature, receivedAt: RECEIVED_AT });
    out.payloads.push({ meterId: m.meterId, payload: encodeDelivery({ keyId: m.keyId, reading: bytes, signature }) });
    out.signed.push({ message, signature, meter: j });
  }
  // the device signs with noble: native signing must give the same bytes (Ed25519 is deterministic, RFC 8032 §5.1.6)
  const first = out.items[0]!;
  if (!bytesEqual(signRecord(anchorBytesOfReading(first.bytes, first.reading, meters[0]!.keyId), meters[0]!.session.secretKey), first.signature)) {
    throw new Error('native and noble signatures differ');
  }
  return out;
}

/** Seconds of wall clock and of this process's CPU (a shared machine's load slows the first, hardly the second). */
async function insertAll(store: ReturnType<typeof openSqliteStore>, items: readonly NewReading[], expect: 'stored' | 'duplicate'): Promise<{ seconds: number; cpuSeconds: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < items.length; i += BATCH) {
    const outcomes = await store.insertReadings(items.slice(i, i + BATCH));
    const other = outcomes.findIndex((o) => o !== expect);
    if (other >= 0) throw new Error(`reading ${i + other}: ${outcomes[other]}, expected ${expect}`);
  }
  const cpu = process.cpuUsage(c0);
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

export const collectorBench: Benchmark = {
  name: 'collector',
  description: 'batched ingestion into the collector store (verified readings; then the full intake with native signature checks), idempotent on (meter, seq)',
  async run({ n = DEFAULT_READINGS, progress, quick }) {
    const dir = mkdtempSync(join(tmpdir(), 'meterseal-bench-collector-'));
    const closers = new Closers();
    try {
      progress(`collector: preparing ${n} signed readings of ${Math.max(1, Math.ceil(n / READINGS_PER_METER))} meters`);
      const p = prepare(n);

      progress('collector: verified readings into the store, then the same again (all duplicates)');
      const store = openSqliteStore(join(dir, 'store'));
      closers.add(() => store.close());
      const { seconds: storeSeconds, cpuSeconds: storeCpuSeconds } = await insertAll(store, p.items, 'stored');
      const before = (await store.counts()).readings;
      const { seconds: dupSeconds } = await insertAll(store, p.items, 'duplicate');
      const after = await store.counts();
      if (before !== n || after.readings !== n || after.conflicts !== 0) throw new Error(`re-ingest added rows: ${before} then ${after.readings} readings, ${after.conflicts} conflicts`);

      progress('collector: the same rows as plain SQLite inserts in one transaction (reference)');
      const { rows: rawRows, seconds: rawSeconds } = rawSqliteInsert(join(dir, 'raw.sqlite'), p.items);
      if (rawRows !== n) throw new Error(`raw insert stored ${rawRows} rows`);
      progress('collector: the same readings as plain SQLite inserts into the schema-2 layout, 9 rows each (before/after reference)');
      const { rows: legacyRows, seconds: legacySeconds } = rawLegacyInsert(join(dir, 'legacy.sqlite'), p.items);
      if (legacyRows !== n) throw new Error(`legacy raw insert stored ${legacyRows} readings`);

      progress('collector: the full intake (decode, key lookup, native verify, batched store)');
      const full = openSqliteStore(join(dir, 'full'));
      closers.add(() => full.close());
      const answers: ResponseBody[] = [];
      const { intake, stats } = benchIntake(full, nativePublicKey(p.ledgerPublicKey), (_reply, body) => answers.push(body));
      for (const m of p.meters) await intake.keyAnnouncement(m.meterId, m.announcement, null);
      if (stats.keys !== p.meters.length) throw new Error(`${stats.keys} of ${p.meters.length} key announcements accepted`);
      const reply = { topic: 'bench/response', correlationData: null };
      const f0 = performance.now();
      for (let i = 0; i < p.payloads.length; i += IN_FLIGHT) {
        await Promise.all(p.payloads.slice(i, i + IN_FLIGHT).map((d) => intake.delivery(d.meterId, d.payload, reply)));
      }
      await intake.idle();
      const fullSeconds = (performance.now() - f0) / 1000;
      const accepted = answers.filter((a) => a.ok && a.op === 'delivery' && !a.duplicate).length;
      if (accepted !== n || stats.collected !== n || (await full.counts()).readings !== n) throw new Error(`the full path stored ${stats.collected} and acknowledged ${accepted} of ${n}`);

      progress('collector: native Ed25519 verify of the same anchors on one core (reference)');
      const keys = p.meters.map((m) => nativePublicKey(m.session.publicKey));
      const verify = measureRate(p.signed, (s) => verifyNative(s.signature, s.message, keys[s.meter]!), timingFor({ quick }).ceilingMs);
      if (verify.truthy !== verify.ops) throw new Error('the reference verify refused a signature');

      await closers.closeAll();
      return {
        name: 'collector',
        params: {
          readings: n,
          meters: p.meters.length,
          registersPerReading: p.items[0]!.reading.registers.length,
          rowsPerReading: 1,
          bytesPerReading: p.items[0]!.bytes.length,
          batch: BATCH,
          storeSeconds: Number(storeSeconds.toFixed(2)),
          storeCpuSeconds: Number(storeCpuSeconds.toFixed(2)),
          storeReadingsPerCpuSecond: Math.round(n / storeCpuSeconds),
          duplicateSeconds: Number(dupSeconds.toFixed(2)),
          rawSeconds: Number(rawSeconds.toFixed(2)),
          legacyLayoutRawSeconds: Number(legacySeconds.toFixed(2)),
          fullSeconds: Number(fullSeconds.toFixed(2)),
          newRowsOnReingest: after.readings - before,
        },
        figures: [
          compare(
            { metric: 'verified readings into the store (batches of 512)', value: n / storeSeconds, unit: 'readings/s' },
            { metric: 'plain SQLite inserts, same rows, one transaction', value: n / rawSeconds, unit: 'readings/s' },
            'value ≥ 20,000 readings/s',
          ),
          compare(
            { metric: 'verified readings into the store (batches of 512)', value: n / storeSeconds, unit: 'readings/s' },
            { metric: 'plain SQLite inserts into the schema-2 layout (1 + 8 register rows per reading), one transaction', value: n / legacySeconds, unit: 'readings/s' },
          ),
          compare(
            { metric: 're-ingest of the same readings (all duplicates, no new row)', value: n / dupSeconds, unit: 'readings/s' },
            { metric: 'verified readings into the store', value: n / storeSeconds, unit: 'readings/s' },
          ),
          compare(
            { metric: 'full intake: decode, key lookup, native verify, batched store (1 thread)', value: n / fullSeconds, unit: 'readings/s' },
            { metric: 'native Ed25519 verify alone (1 core)', value: verify.opsPerSec, unit: 'verifies/s' },
          ),
        ],
        notes: [
          'store: synchronous=FULL in WAL mode, one transaction (one fsync) per batch: a reading is acknowledged only once it survives power loss',
          'one row per reading (its canonical bytes as signed, meter, seq, key id, signature, arrival); wall-clock figures on a shared machine also wait on its fsyncs: storeReadingsPerCpuSecond is the CPU cost',
          're-ingest: every reading again, asserted "duplicate" with zero new rows and no conflict',
        ],
      };
    } finally {
      await closers.closeAll().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
