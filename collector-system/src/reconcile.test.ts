// Reconciliation against the fake ledger's query API directly (the air-gap path is in window.test.ts).
// Threat-model rows: T-I1 (edited at rest → tampered), T-I2 (deleted → missing), T-I3 (inserted → unanchored).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { encodeReading, parseVerifierKey, toHex } from '@meterseal/protocol';
import { tamperStoredReadings } from './insider.js';
import { reconcile } from './reconcile.js';
import { REPORT_ID_PATTERN } from './report.js';
import { openSqliteStore, type SqliteCollectorStore } from './sqlite-store.js';
import { deliver, makeLedgerKey, makeMeter, makeReading, type SignedDelivery, type TestMeter } from './testing/fixtures.js';
import { startFakeLedger, type FakeLedger, type FakeLedgerOptions } from './testing/fake-ledger.js';
import { silentLog, tempDir, type Teardown } from './testing/harness.js';

const key = makeLedgerKey();
const verifier = parseVerifierKey(key.vkey);
const AT = '2026-11-21T12:00:00.000Z';

interface World {
  store: SqliteCollectorStore;
  ledger: FakeLedger;
  dir: string;
  meters: TestMeter[];
  /** Every delivery, by meter id then seq. */
  sent: Map<string, Map<bigint, SignedDelivery>>;
}

/** Meters whose readings are both anchored on the (fake) ledger and stored in the collector. */
async function world(t: Teardown, seqs: Record<string, bigint[]>, ledgerOptions: FakeLedgerOptions = {}, sign = true): Promise<World> {
  const dir = tempDir(t);
  const store = openSqliteStore(dir);
  t.teardown(() => store.close());
  const ledger = await startFakeLedger(key, ledgerOptions);
  t.teardown(() => ledger.close());
  const meters: TestMeter[] = [];
  const sent = new Map<string, Map<bigint, SignedDelivery>>();
  for (const [meterId, list] of Object.entries(seqs)) {
    const meter = makeMeter(meterId, key);
    meters.push(meter);
    const bySeq = new Map<bigint, SignedDelivery>();
    const batch = [];
    for (const seq of list) {
      const d = deliver(meter, makeReading(meterId, seq), { sign });
      bySeq.set(seq, d);
      ledger.anchor(meter, d);
      batch.push({ reading: d.reading, bytes: d.readingBytes, keyId: meter.keyId, signature: d.signature, receivedAt: AT });
    }
    await store.insertReadings(batch);
    sent.set(meterId, bySeq);
  }
  return { store, ledger, dir, meters, sent };
}

const range = (from: number, to: number): bigint[] => Array.from({ length: to - from + 1 }, (_, i) => BigInt(from + i));
const run = (w: World, extra: Partial<Parameters<typeof reconcile>[0]> = {}) =>
  reconcile({ store: w.store, relayUrl: w.ledger.url, verifier, log: silentLog, reportsDir: join(w.dir, 'reports'), ...extra });

t.test('everything collected and anchored: all matched; the report is stored in the database and as a file', async (t) => {
  const w = await world(t, { 'M-A': range(1, 40), 'M-B': range(0, 25) });
  const progress: string[] = [];
  const report = await run(w, { onProgress: (p) => progress.push(`${p.meterId} ${p.metersDone}/${p.metersTotal}`) });
  t.same(report.counts, { matched: 66, tampered: 0, missing: 0, unanchored: 0, conflicts: 0 });
  t.same(report.items, []);
  t.match(report.id, REPORT_ID_PATTERN);
  t.match(report.checkpoint, { origin: key.origin, size: '66' });
  t.match(report.checkpoint.rootHex, /^[0-9a-f]{64}$/);
  t.match(report.startedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.ok(report.finishedAt >= report.startedAt);
  t.same(progress, ['M-A 1/2', 'M-B 2/2']);
  t.same(await w.store.getReport(report.id), report);
  t.same(JSON.parse(readFileSync(join(w.dir, 'reports', `${report.id}.json`), 'utf8')), report);
});

t.test('an insider edits two stored energy values: exactly those two are tampered, with both hashes (T-I1)', async (t) => {
  const w = await world(t, { 'M-A': range(1, 30), 'M-B': range(1, 30) });
  let i = 0;
  const rng = (): number => [0.31, 0.5, 0.77, 0.12, 0.9][i++ % 5]!;
  const changed = tamperStoredReadings(w.store, 2, rng);
  t.equal(changed.length, 2);
  t.equal(new Set(changed.map((c) => `${c.meterId}/${c.seq}`)).size, 2, 'two distinct readings');
  const report = await run(w);
  t.same(report.counts, { matched: 58, tampered: 2, missing: 0, unanchored: 0, conflicts: 0 });
  t.same(report.items.map((it) => ({ meterId: it.meterId, seq: it.seq, outcome: it.outcome })), changed.map((c) => ({ meterId: c.meterId, seq: String(c.seq), outcome: 'tampered' })));
  for (const it of report.items) {
    const original = w.sent.get(it.meterId)!.get(BigInt(it.seq))!;
    t.equal(it.ledgerHash, toHex(original.hash), 'the ledger hash is the original reading\'s');
    t.not(it.collectedHash, it.ledgerHash, 'the re-hash of the edited values differs');
    const [stored] = await w.store.readings(it.meterId, BigInt(it.seq), BigInt(it.seq));
    t.not(stored!.reading.registers[0]!.value, original.reading.registers[0]!.value, 'the energy value was changed at rest');
    t.same(stored!.reading.registers[1], original.reading.registers[1], 'nothing else was');
  }
  t.throws(() => tamperStoredReadings(w.store, 61), { code: 'NOT_ENOUGH_READINGS' });
});

t.test('a reading deleted from the store is missing; an extra one never anchored is unanchored (T-I2, T-I3)', async (t) => {
  const w = await world(t, { 'M-A': range(1, 20) });
  const db = new Database(w.store.path);
  db.prepare(`DELETE FROM readings WHERE meter_id = 'M-A' AND seq = '00000000000000000007'`).run();
  db.close();
  const extra = deliver(w.meters[0]!, makeReading('M-A', 21n));
  await w.store.insertReadings([{ reading: extra.reading, bytes: extra.readingBytes, keyId: w.meters[0]!.keyId, signature: extra.signature, receivedAt: AT }]);
  const report = await run(w);
  t.same(report.counts, { matched: 19, tampered: 0, missing: 1, unanchored: 1, conflicts: 0 });
  t.same(report.items, [
    { meterId: 'M-A', seq: '7', outcome: 'missing', ledgerHash: toHex(w.sent.get('M-A')!.get(7n)!.hash) },
    { meterId: 'M-A', seq: '21', outcome: 'unanchored', collectedHash: toHex(extra.hash) },
  ]);
});

t.test('recorded conflicts are reported beside the comparison', async (t) => {
  const w = await world(t, { 'M-A': range(1, 5) });
  const other = deliver(w.meters[0]!, makeReading('M-A', 3n, 5n));
  t.same(await w.store.insertReadings([{ reading: other.reading, bytes: other.readingBytes, keyId: w.meters[0]!.keyId, signature: other.signature, receivedAt: AT }]), ['conflict']);
  const report = await run(w);
  t.same(report.counts, { matched: 5, tampered: 0, missing: 0, unanchored: 0, conflicts: 1 });
  t.match(report.items, [{ meterId: 'M-A', seq: '3', outcome: 'conflict' }]);
});

t.test('a checkpoint signed by another key fails the run with CHECKPOINT_INVALID and no report', async (t) => {
  const w = await world(t, { 'M-A': range(1, 3) });
  w.ledger.signer = makeLedgerKey(key.origin).signer; // same name, wrong key
  await t.rejects(run(w), { name: 'CollectorError', code: 'CHECKPOINT_INVALID', message: /does not verify with the pinned key/ });
  t.same(await w.store.reportIds(), []);
  t.notOk(existsSync(join(w.dir, 'reports')), 'no report file');
  t.same(w.ledger.requests, ['/checkpoint'], 'nothing else was asked once the checkpoint failed');
});

for (const reportSeqRange of [false, true]) {
  t.test(`paging over more than 10000 seqs finds gaps at both ends (ledger ${reportSeqRange ? 'reports' : 'does not report'} seq ranges)`, async (t) => {
    const w = await world(t, { 'M-P': range(0, 10_004) }, { reportSeqRange }, false); // reconciliation never checks signatures
    const db = new Database(w.store.path);
    db.prepare(`DELETE FROM readings WHERE meter_id = 'M-P' AND (seq <= '00000000000000000002' OR seq >= '00000000000000009999')`).run();
    db.close();
    const report = await run(w);
    t.same(report.counts, { matched: 9996, tampered: 0, missing: 9, unanchored: 0, conflicts: 0 });
    t.same(report.items.map((it) => it.seq), ['0', '1', '2', '9999', '10000', '10001', '10002', '10003', '10004']);
    const anchorRequests = w.ledger.requests.filter((r) => r.startsWith('/v1/anchors'));
    t.ok(anchorRequests.length <= 3, `${anchorRequests.length} anchor pages`);
  });
}

t.test('a meter the ledger never heard of: every stored reading is unanchored', async (t) => {
  const w = await world(t, {});
  const meter = makeMeter('M-X', key);
  const d = deliver(meter, makeReading('M-X', 4n));
  await w.store.insertReadings([{ reading: d.reading, bytes: d.readingBytes, keyId: meter.keyId, signature: d.signature, receivedAt: AT }]);
  const report = await run(w);
  t.same(report.counts, { matched: 0, tampered: 0, missing: 0, unanchored: 1, conflicts: 0 });
  t.same(report.checkpoint.size, '0');
});

t.test('an unreachable ledger and a malformed answer fail with typed errors', async (t) => {
  const w = await world(t, { 'M-A': range(1, 2) });
  await t.rejects(run(w, { relayUrl: 'http://127.0.0.1:1' }), { code: 'LEDGER_UNREACHABLE' });
  await t.rejects(run(w, { relayUrl: `${w.ledger.url}/nowhere` }), { code: 'LEDGER_BAD_RESPONSE' });
});

t.test('a stored reading whose values were edited into an invalid encoding is tampered, not a crash', async (t) => {
  const w = await world(t, { 'M-A': range(1, 3) });
  const db = new Database(w.store.path);
  db.prepare(`UPDATE registers SET unit = 'parsec' WHERE meter_id = 'M-A' AND seq = '00000000000000000002' AND idx = 0`).run();
  db.close();
  const report = await run(w);
  t.same(report.counts, { matched: 2, tampered: 1, missing: 0, unanchored: 0, conflicts: 0 });
  t.match(report.items, [{ meterId: 'M-A', seq: '2', outcome: 'tampered', detail: /no longer encode/ }]);
  t.notOk('collectedHash' in report.items[0]!);
  t.ok(encodeReading(w.sent.get('M-A')!.get(2n)!.reading).length > 0);
});
