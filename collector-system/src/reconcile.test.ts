// Reconciliation against the fake ledger's query API directly (the air-gap path is in window.test.ts): roots
// per meter from the proven per-meter index, the ledger's tree walked only where they differ.
// Threat-model rows: T-I1 (edited at rest → tampered), T-I2 (deleted → missing), T-I3 (inserted → unanchored).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { encodeReading, parseVerifierKey, toHex } from '@meterseal/protocol';
import { editStoredReading, tamperStoredReadings } from './insider.js';
import { reconcile } from './reconcile.js';
import { REPORT_ID_PATTERN } from './report.js';
import { RunStore } from './runs.js';
import { openSqliteStore, type SqliteCollectorStore } from './sqlite-store.js';
import { deliver, makeLedgerKey, makeMeter, makeReading, type SignedDelivery, type TestMeter } from './testing/fixtures.js';
import { startFakeLedger, type FakeLedger, type FakeLedgerOptions } from './testing/fake-ledger.js';
import { silentLog, tempDir, type Teardown } from './testing/harness.js';

const key = makeLedgerKey();
const verifier = parseVerifierKey(key.vkey);
const AT = '2026-11-21T12:00:00.000Z';
/** Agent time of seq 0 in makeReading; seq s is taken at BASE + s seconds. */
const BASE = 1_795_262_400_000;
/** An hour after the readings, interval 1 s: nothing is pending (meters are silent: asserted where it matters). */
const LATER = { now: () => new Date(BASE + 3_600_000), intervalMs: 1000 };

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
  reconcile({ store: w.store, relayUrl: w.ledger.url, verifier, log: silentLog, reportsDir: join(w.dir, 'reports'), ...LATER, ...extra });
const counts = (c: Partial<Record<'matched' | 'tampered' | 'missing' | 'unanchored' | 'conflicts' | 'pending', number>>) =>
  ({ matched: 0, tampered: 0, missing: 0, unanchored: 0, conflicts: 0, pending: 0, ...c });
const nodeRequests = (w: World): number => w.ledger.requests.filter((r) => r.startsWith('/v1/meter/node')).length;


t.test('a clean window: every meter root matches in ONE request; the run is stored in the database and as a file', async (t) => {
  const w = await world(t, { 'M-A': range(1, 40), 'M-B': range(0, 25) });
  const runs = new RunStore(w.store.path);
  t.teardown(() => runs.close());
  const progress: string[] = [];
  // readings up to 40 s after BASE, interval 1 min: none overdue, no meter silent
  const report = await run(w, { now: () => new Date(BASE + 41_000), intervalMs: 60_000, runs, onProgress: (p) => progress.push(`${p.meterId} ${p.metersDone}/${p.metersTotal} ${p.readingsDone}`) });
  t.same(report.counts, counts({ matched: 66 }));
  t.same(report.items, []);
  t.equal(report.outcome, 'clean');
  t.same(w.ledger.requests, ['/v1/index?start=0&count=10000'], 'the index page is the only request');
  t.match(report.traffic, { requests: 1 });
  t.ok(report.traffic!.bytes > 0 && report.traffic!.bytes < 2000, `${report.traffic!.bytes} bytes crossed`);
  t.match(report.id, REPORT_ID_PATTERN);
  t.match(report.checkpoint, { origin: key.origin, size: '66' });
  t.same(report.index?.meters, '2');
  t.same(report.silentMeters, []);
  t.match(report.meters, [{ meterId: 'M-A', received: 40, expected: 1, silent: false }, { meterId: 'M-B', received: 26, silent: false }]);
  t.same(progress, ['M-A 1/2 40', 'M-B 2/2 66']);
  t.same(await w.store.getReport(report.id), report);
  t.same(JSON.parse(readFileSync(join(w.dir, 'reports', `${report.id}.json`), 'utf8')), report);
  t.match(runs.runs(), [{ id: report.id, outcome: 'clean', checkpointSize: '66', divergences: 0 }]);
});

t.test('an insider edits two stored energy values: exactly those are tampered, located in O(log n) requests, with the stored values (T-I1)', async (t) => {
  const w = await world(t, { 'M-A': range(1, 300), 'M-B': range(1, 300) }, {}, false);
  const runs = new RunStore(w.store.path);
  t.teardown(() => runs.close());
  let i = 0;
  const rng = (): number => [0.31, 0.5, 0.77, 0.12, 0.9][i++ % 5]!;
  const changed = tamperStoredReadings(w.store, 2, rng);
  t.equal(new Set(changed.map((c) => c.meterId)).size, 2, 'one in each meter');
  const report = await run(w, { runs });
  t.same(report.counts, counts({ matched: 598, tampered: 2 }));
  t.same(report.items.map((it) => ({ meterId: it.meterId, seq: it.seq, outcome: it.outcome })), changed.map((c) => ({ meterId: c.meterId, seq: String(c.seq), outcome: 'tampered' })));
  // 300 leaves: [0,300) → [0,256) → [0,128) → [0,64) (leaves): at most 4 node requests per meter, log2(n/64) + 2
  t.ok(nodeRequests(w) <= 8, `${nodeRequests(w)} node requests for two meters of 300`);
  for (const it of report.items) {
    const original = w.sent.get(it.meterId)!.get(BigInt(it.seq))!;
    t.equal(it.ledgerHash, toHex(original.hash), "the ledger hash is the original reading's");
    t.not(it.collectedHash, it.ledgerHash, 'the re-hash of the edited values differs');
    t.not(it.collected!.registers[0]!.value, original.reading.registers[0]!.value.toString(), 'the report shows the edited stored value');
    t.equal(it.collected!.registers[1]!.value, original.reading.registers[1]!.value.toString());
  }
  t.equal(report.outcome, 'divergent');
  t.same(runs.divergences(report.id).map((d) => `${d.meterId}/${d.seq}/${d.outcome}`), changed.map((c) => `${c.meterId}/${c.seq}/tampered`));
});

t.test('a reading deleted from the store is missing; an extra one never anchored is unanchored (T-I2, T-I3)', async (t) => {
  const w = await world(t, { 'M-A': range(1, 200) }, {}, false);
  const db = new Database(w.store.path);
  db.prepare(`DELETE FROM readings WHERE meter_id = 'M-A' AND seq = '00000000000000000107'`).run();
  db.close();
  const extra = deliver(w.meters[0]!, makeReading('M-A', 201n));
  await w.store.insertReadings([{ reading: extra.reading, bytes: extra.readingBytes, keyId: w.meters[0]!.keyId, signature: extra.signature, receivedAt: AT }]);
  const report = await run(w);
  t.same(report.counts, counts({ matched: 199, missing: 1, unanchored: 1 }));
  t.match(report.items, [
    { meterId: 'M-A', seq: '107', outcome: 'missing', ledgerHash: toHex(w.sent.get('M-A')!.get(107n)!.hash) },
    { meterId: 'M-A', seq: '201', outcome: 'unanchored', collectedHash: toHex(extra.hash), collected: { agentTimeMs: String(BASE + 201_000) } },
  ]);
  t.ok(nodeRequests(w) <= 4, `${nodeRequests(w)} node requests: the seq bounds keep a deletion from shifting everything after it`);
});

t.test('recorded conflicts are located with the values of both deliveries', async (t) => {
  const w = await world(t, { 'M-A': range(1, 5) });
  const other = deliver(w.meters[0]!, makeReading('M-A', 3n, 5n));
  t.same(await w.store.insertReadings([{ reading: other.reading, bytes: other.readingBytes, keyId: w.meters[0]!.keyId, signature: other.signature, receivedAt: AT }]), ['conflict']);
  const report = await run(w);
  t.same(report.counts, counts({ matched: 5, conflicts: 1 }));
  t.match(report.items, [{ meterId: 'M-A', seq: '3', outcome: 'conflict', collected: { registers: [{ value: w.sent.get('M-A')!.get(3n)!.reading.registers[0]!.value.toString() }] }, delivered: { registers: [{ value: '5' }] } }]);
});

t.test('pending vs missing: readings newer than two intervals are pending; a meter gone silent is flagged', async (t) => {
  const w = await world(t, { 'M-A': range(1, 100), 'M-S': range(1, 10) }, {}, false);
  const db = new Database(w.store.path);
  db.prepare(`DELETE FROM readings WHERE meter_id = 'M-A' AND seq IN ('00000000000000000020', '00000000000000000100')`).run();
  db.close();
  const late = deliver(w.meters[0]!, makeReading('M-A', 101n));
  await w.store.insertReadings([{ reading: late.reading, bytes: late.readingBytes, keyId: w.meters[0]!.keyId, signature: late.signature, receivedAt: AT }]);
  // now: 101.5 s after BASE, interval 1 s: seqs 100 and 101 are newer than two intervals
  const report = await run(w, { now: () => new Date(BASE + 101_500), intervalMs: 1000 });
  t.same(report.counts, counts({ matched: 108, missing: 1, pending: 2 }));
  t.match(report.items, [
    { meterId: 'M-A', seq: '20', outcome: 'missing' },
    { meterId: 'M-A', seq: '100', outcome: 'pending', detail: /not yet collected/ },
    { meterId: 'M-A', seq: '101', outcome: 'pending', detail: /not yet anchored/ },
  ]);
  t.same(report.silentMeters, ['M-S'], 'the meter whose last reading is 91 s old');
  t.match(report.meters, [{ meterId: 'M-A', received: 99, expected: 101, silent: false }, { meterId: 'M-S', received: 10, expected: 101, silent: true }]);
});

t.test('a checkpoint signed by another key fails the run with CHECKPOINT_INVALID and no report', async (t) => {
  const w = await world(t, { 'M-A': range(1, 3) });
  w.ledger.signer = makeLedgerKey(key.origin).signer; // same name, wrong key
  await t.rejects(run(w), { name: 'CollectorError', code: 'CHECKPOINT_INVALID', message: /does not verify with the pinned key/ });
  t.same(await w.store.reportIds(), []);
  t.notOk(existsSync(join(w.dir, 'reports')), 'no report file');
  t.same(w.ledger.requests, ['/v1/index?start=0&count=10000'], 'nothing else was asked once the checkpoint failed');
});

t.test('index leaves that do not hash to the root the checkpoint commits fail the run (LEDGER_PROOF_FAILED)', async (t) => {
  const w = await world(t, { 'M-A': range(1, 30), 'M-B': range(1, 30) });
  const honest = await run(w);
  t.equal(honest.counts.matched, 60);
  // the ledger serves M-B's leaf as if one reading (seq 30) were not anchored: a root the checkpoint does not commit
  w.ledger.tamperIndex = (leaves) => leaves.map((l) => (l.meterId === 'M-B' ? { ...l, treeSize: l.treeSize - 1n } : l));
  await t.rejects(run(w), { code: 'LEDGER_PROOF_FAILED', message: /not the .* its checkpoint at size 60 commits/ });
  w.ledger.tamperIndex = (leaves) => leaves.slice(1);
  await t.rejects(run(w), { code: 'LEDGER_PROOF_FAILED', message: /served 1 index leaves; its checkpoint commits 2/ });
});

t.test('more than 10000 readings in one meter: gaps at both ends found with few requests', async (t) => {
  const w = await world(t, { 'M-P': range(0, 10_004) }, {}, false); // reconciliation never checks signatures
  const db = new Database(w.store.path);
  db.prepare(`DELETE FROM readings WHERE meter_id = 'M-P' AND (seq <= '00000000000000000002' OR seq >= '00000000000000009999')`).run();
  db.close();
  const report = await run(w, { now: () => new Date(BASE + 86_400_000) });
  t.same(report.counts, counts({ matched: 9996, missing: 9 }));
  t.same(report.items.map((it) => it.seq), ['0', '1', '2', '9999', '10000', '10001', '10002', '10003', '10004']);
  t.ok(nodeRequests(w) <= 20, `${nodeRequests(w)} node requests`);
});

t.test('a meter the ledger never heard of: every stored reading is unanchored', async (t) => {
  const w = await world(t, {});
  const meter = makeMeter('M-X', key);
  const d = deliver(meter, makeReading('M-X', 4n));
  await w.store.insertReadings([{ reading: d.reading, bytes: d.readingBytes, keyId: meter.keyId, signature: d.signature, receivedAt: AT }]);
  const report = await run(w);
  t.same(report.counts, counts({ unanchored: 1 }));
  t.same(report.checkpoint.size, '0');
});

t.test('an unreachable ledger and a malformed answer fail with typed errors', async (t) => {
  const w = await world(t, { 'M-A': range(1, 2) });
  await t.rejects(run(w, { relayUrl: 'http://127.0.0.1:1' }), { code: 'LEDGER_UNREACHABLE' });
  await t.rejects(run(w, { relayUrl: `${w.ledger.url}/nowhere` }), { code: 'LEDGER_BAD_RESPONSE' });
});

t.test('a stored reading whose values were edited into an invalid encoding is tampered, not a crash', async (t) => {
  const w = await world(t, { 'M-A': range(1, 3) });
  editStoredReading(w.store, 'M-A', 2n, (_r, b) => b.subarray(0, 12)); // the stored bytes cut: no longer a reading
  const report = await run(w);
  t.same(report.counts, counts({ matched: 2, tampered: 1 }));
  t.match(report.items, [{ meterId: 'M-A', seq: '2', outcome: 'tampered', detail: /no longer encode/ }]);
  t.notOk('collectedHash' in report.items[0]!);
  t.ok(encodeReading(w.sent.get('M-A')!.get(2n)!.reading).length > 0);
});

t.test('a time range within the window: only readings taken in it are compared and reported', async (t) => {
  const w = await world(t, { 'M-A': range(1, 300) }, {}, false);
  const db = new Database(w.store.path);
  for (const seq of [20n, 170n]) editStoredReading(w.store, 'M-A', seq, (r) => ({ ...r, registers: r.registers.map((g, i) => (i === 0 ? { ...g, value: 1n } : g)) }));
  db.prepare(`DELETE FROM readings WHERE meter_id = 'M-A' AND seq IN ('00000000000000000150', '00000000000000000250')`).run();
  db.close();
  // readings 150..200 by agent time (seq s at BASE + s seconds)
  const report = await run(w, { range: { fromMs: BASE + 150_000, toMs: BASE + 200_000 } });
  t.same(report.items.map((it) => `${it.outcome} ${it.seq}`), ['missing 150', 'tampered 170'], 'the edge gap at 150 counts; 20 and 250 are outside');
  t.same(report.counts, counts({ matched: 49, tampered: 1, missing: 1 }));
});
