// Reconciliation with signed gap records (docs/protocol.md §12) and corrections (§14), against the fake ledger's
// query API and real SQLite files: a gap whose anchor is the ledger's leaf explains its seqs; a forged, edited or
// unanchored one explains nothing; a proven correction shows its original `adjusted` with both values, and the
// original is left as it was.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import {
  GapReason, decodeCorrectionDelivery, decodeGapDelivery, encodeGap, encodeReading, parseVerifierKey, readingHash, sha256, signCorrection, signGap, toHex,
  type Correction, type Gap, type Reading,
} from '@meterseal/protocol';
import { CorrectionStore } from './corrections.js';
import { seqCompleteness } from './corrections-reconcile.js';
import { adjustedSection, explainedSection } from './corrections-html.js';
import { runPage } from './dashboard/pages.js';
import { GapStore } from './gaps.js';
import { reconcile } from './reconcile.js';
import { reportCsv } from './report.js';
import { RunStore } from './runs.js';
import { openSqliteStore, type SqliteCollectorStore } from './sqlite-store.js';
import { deliver, makeLedgerKey, makeMeter, makeReading, type SignedDelivery, type TestMeter } from './testing/fixtures.js';
import { startFakeLedger, type FakeLedger } from './testing/fake-ledger.js';
import { silentLog, tempDir, type Teardown } from './testing/harness.js';

const key = makeLedgerKey();
const verifier = parseVerifierKey(key.vkey);
const AT = '2026-11-21T12:00:00.000Z';
const BASE = 1_795_262_400_000n; // makeReading: seq s is taken at BASE + s seconds
const LATER = { now: () => new Date(Number(BASE) + 3_600_000), intervalMs: 1000 };

interface World {
  dir: string;
  store: SqliteCollectorStore;
  gaps: GapStore;
  corrections: CorrectionStore;
  ledger: FakeLedger;
}

async function world(t: Teardown): Promise<World> {
  const dir = tempDir(t);
  const store = openSqliteStore(dir);
  t.teardown(() => store.close());
  const gaps = new GapStore(join(dir, 'gaps.sqlite'));
  t.teardown(() => gaps.close());
  const corrections = new CorrectionStore(join(dir, 'corrections.sqlite'));
  t.teardown(() => corrections.close());
  const ledger = await startFakeLedger(key);
  t.teardown(() => ledger.close());
  return { dir, store, gaps, corrections, ledger };
}

/** Readings `seqs` of `meter`: anchored on the ledger when `anchor`, stored in the collector when `store`. */
async function readings(w: World, meter: TestMeter, seqs: bigint[], { anchor = true, store = true } = {}): Promise<Map<bigint, SignedDelivery>> {
  const out = new Map<bigint, SignedDelivery>();
  for (const seq of seqs) {
    const d = deliver(meter, makeReading(meter.meterId, seq));
    out.set(seq, d);
    if (anchor) w.ledger.anchor(meter, d);
  }
  if (store) await w.store.insertReadings([...out.values()].map((d) => ({ reading: d.reading, bytes: d.readingBytes, keyId: meter.keyId, signature: d.signature, receivedAt: AT })));
  return out;
}

/** The ledger appends the signed anchor of a gap or correction record at `seq` (the fake ledger's anchor path). */
function anchorRecord(w: World, meter: TestMeter, seq: bigint, record: Uint8Array, signature: Uint8Array): void {
  w.ledger.anchor(meter, { reading: { meterId: meter.meterId, seq } as Reading, readingBytes: record, hash: sha256(record), signature, payload: new Uint8Array(0) });
}

function gapOf(meter: TestMeter, firstSeq: bigint, lastSeq: bigint, reason: Gap['reason'] = GapReason.SerialFailure, signer = ''): Gap {
  return { meterId: meter.meterId, firstSeq, lastSeq, fromMs: BASE + firstSeq * 1000n, toMs: BASE + lastSeq * 1000n, reason, signer };
}

/** A gap signed by the meter's session key, stored by the collector, and anchored by the ledger when `anchor`. */
function gap(w: World, meter: TestMeter, g: Gap, { anchor = true } = {}): Uint8Array {
  const d = decodeGapDelivery(signGap(g, { keyId: meter.keyId, secretKey: meter.session.secretKey }));
  if (anchor) anchorRecord(w, meter, d.gap.firstSeq, d.record, d.signature);
  if (w.gaps.put(d, AT) !== 'stored') throw new Error('the gap was not stored');
  return d.record;
}

function correction(w: World, meter: TestMeter, c: Correction, { anchor = true } = {}): void {
  const signed = signCorrection(c, { keyId: meter.keyId, secretKey: meter.session.secretKey });
  const d = decodeCorrectionDelivery(signed.delivery);
  if (anchor) anchorRecord(w, meter, c.seq, d.record, d.signature);
  if (w.corrections.put(d, AT) !== 'stored') throw new Error('the correction was not stored');
}

const range = (from: number, to: number): bigint[] => Array.from({ length: to - from + 1 }, (_, i) => BigInt(from + i));
const run = (w: World, extra: Partial<Parameters<typeof reconcile>[0]> = {}) =>
  reconcile({ store: w.store, gaps: w.gaps, corrections: w.corrections, relayUrl: w.ledger.url, verifier, log: silentLog, ...LATER, ...extra });

t.test('a gap anchored in the ledger explains its seqs; seqs the ledger anchored and the collector lacks stay missing', async (t) => {
  const w = await world(t);
  const meter = makeMeter('M-G', key, { firstSeq: 1n });
  await readings(w, meter, [...range(1, 10), ...range(16, 20)]);
  await readings(w, meter, range(21, 22), { store: false }); // anchored, never collected
  gap(w, meter, gapOf(meter, 11n, 15n, GapReason.PowerLoss, 'GW-7'));
  const runs = new RunStore(join(w.dir, 'runs.sqlite'));
  t.teardown(() => runs.close());
  const report = await run(w, { runs });
  t.same(report.explained?.map((e) => [e.meterId, e.seq, e.lastSeq, e.reason, e.signer]), [['M-G', '11', '15', 'PowerLoss', 'GW-7']]);
  t.match(report.explained?.[0]?.detail, /anchor is the ledger's leaf at seq 11/);
  t.same(report.items.map((i) => [i.seq, i.outcome]), [['21', 'missing'], ['22', 'missing']], 'only the unexplained seqs are divergences');
  t.equal(report.counts.matched, 15, 'matched counts the 15 readings, not the gap record');
  t.match(report.meters?.[0], { meterId: 'M-G', received: 15, explainedMissing: 5, unexplainedMissing: 2 });
  t.same(runs.annotations(report.id).explained.map((e) => e.seq), ['11'], 'the run store keeps the explained gap apart from divergences');
  t.same(runs.divergences(report.id).map((d) => d.seq), [21n, 22n]);
  const csv = reportCsv(report).split('\r\n');
  t.ok(csv.some((l) => l.startsWith('M-G,11,explained,,') && l.includes(',15,PowerLoss,GW-7,')), 'the CSV export has the explained row');
  t.match(explainedSection(report).value, /<td>11\.\.15<\/td><td>PowerLoss<\/td>\s*<td>gateway GW-7<\/td>/);
  const page = (await runPage(w.store, report)).value;
  t.match(page, /<table id="explained">[\s\S]*11\.\.15[\s\S]*<\/table>/, 'the run page shows the explained section');
  t.match(page, /<table id="completeness">[\s\S]*<td>M-G<\/td><td>\d+<\/td><td>15<\/td><td>5<\/td>\s*<td class="bad">2<\/td>/, 'and completeness, explained apart from unexplained');
});

t.test('without the gap record the same seqs are unexplained: the gap anchor at firstSeq is missing', async (t) => {
  const w = await world(t);
  const meter = makeMeter('M-N', key, { firstSeq: 1n });
  await readings(w, meter, [...range(1, 10), ...range(16, 20)]);
  const d = decodeGapDelivery(signGap(gapOf(meter, 11n, 15n), { keyId: meter.keyId, secretKey: meter.session.secretKey }));
  anchorRecord(w, meter, 11n, d.record, d.signature); // the ledger has it; the collector never got it
  const report = await run(w);
  t.same(report.explained, []);
  t.same(report.items.map((i) => [i.seq, i.outcome]), [['11', 'missing']]);
  t.match(report.meters?.[0], { explainedMissing: 0, unexplainedMissing: 5 });
});

t.test('a forged gap (validly signed, but not what the ledger anchored at firstSeq) explains nothing', async (t) => {
  const w = await world(t);
  const meter = makeMeter('M-F', key, { firstSeq: 1n });
  await readings(w, meter, [...range(1, 5), ...range(9, 10)]);
  await readings(w, meter, range(6, 8), { store: false }); // the ledger anchored 6..8; the collector lost them
  gap(w, meter, gapOf(meter, 6n, 8n), { anchor: false }); // an insider (or a compromised key) covers the hole
  const report = await run(w);
  t.same(report.explained, [], 'nothing explained');
  t.same(report.items.map((i) => [i.seq, i.outcome]), [['6', 'missing'], ['7', 'missing'], ['8', 'missing']]);
  t.match(report.items[0]?.detail, /gap record 6\.\.8 .* is not the ledger's leaf at this seq; it explains nothing/);
  t.match(report.meters?.[0], { explainedMissing: 0, unexplainedMissing: 3 });
  t.equal(report.outcome, 'divergent');
});

t.test('an unanchored gap explains nothing, and a gap record edited at rest no longer matches its anchor', async (t) => {
  const w = await world(t);
  const a = makeMeter('M-U', key, { firstSeq: 1n });
  await readings(w, a, [...range(1, 5), ...range(9, 10)]);
  gap(w, a, gapOf(a, 6n, 8n), { anchor: false }); // the ledger has nothing at 6..8
  const b = makeMeter('M-E', key, { firstSeq: 1n });
  await readings(w, b, [...range(1, 5), ...range(9, 10)]);
  gap(w, b, gapOf(b, 6n, 8n, GapReason.SerialFailure));
  // an insider rewrites the stored record to claim a longer gap and another reason (and the index columns with it)
  const db = new Database(join(w.dir, 'gaps.sqlite'));
  const edited = encodeGap({ ...gapOf(b, 6n, 12n, GapReason.DiskFull) });
  db.prepare('UPDATE gaps SET record = ?, last_seq = 12, reason = 3 WHERE meter_id = ?').run(Buffer.from(edited), 'M-E');
  db.close();
  const report = await run(w);
  t.same(report.explained, []);
  t.same(report.items.map((i) => [i.meterId, i.seq, i.outcome]), [['M-E', '6', 'missing'], ['M-U', '6', 'unanchored']]);
  t.match(report.items[0]?.detail, /gap record 6\.\.12 \(DiskFull\) is not the ledger's leaf/);
  t.match(report.items[1]?.detail, /not anchored by the ledger; it explains nothing/);
  t.match(report.meters, [{ meterId: 'M-E', explainedMissing: 0, unexplainedMissing: 3 }, { meterId: 'M-U', explainedMissing: 0, unexplainedMissing: 3 }]);
});

t.test('a correction anchored at its own seq shows the original adjusted with both values; the original is unchanged', async (t) => {
  const w = await world(t);
  const meter = makeMeter('M-C', key, { firstSeq: 1n });
  const sent = await readings(w, meter, range(1, 5));
  const original = sent.get(3n)!;
  correction(w, meter, {
    meterId: 'M-C', seq: 6n, originalSeq: 3n, originalHash: original.hash, agentTimeMs: BASE + 6000n, reason: 'CT ratio misconfigured',
    registers: [{ obis: '1.0.1.8.0.255', value: 2_000_042n, scaler: 0, unit: 'Wh' }], salt: new Uint8Array(16).fill(3),
  });
  correction(w, meter, { // signed, stored, never anchored: corrects nothing
    meterId: 'M-C', seq: 7n, originalSeq: 4n, originalHash: sent.get(4n)!.hash, agentTimeMs: BASE + 7000n, reason: 'never anchored',
    registers: [{ obis: '1.0.1.8.0.255', value: 1n, scaler: 0, unit: 'Wh' }], salt: new Uint8Array(16).fill(4),
  }, { anchor: false });
  const report = await run(w);
  t.equal(report.counts.matched, 5, 'the five readings matched, the original among them');
  t.same(report.items.map((i) => [i.seq, i.outcome]), [['7', 'unanchored']]);
  t.match(report.items[0]?.detail, /correction of seq 4, not anchored by the ledger; it corrects nothing/);
  t.equal(report.adjusted?.length, 1);
  const adj = report.adjusted![0]!;
  t.match(adj, { meterId: 'M-C', seq: '3', outcome: 'adjusted', collectedHash: toHex(original.hash), corrected: { seq: '6', reason: 'CT ratio misconfigured' } });
  t.same(adj.collected?.registers[0], { obis: '1.0.1.8.0.255', value: '1000021', scaler: 0, unit: 'Wh' }, 'the original value');
  t.same(adj.corrected.registers, [{ obis: '1.0.1.8.0.255', value: '2000042', scaler: 0, unit: 'Wh' }], 'the corrected value beside it');
  const [stored] = await w.store.readings('M-C', 3n, 3n, 1);
  t.same(readingHash(encodeReading(stored!.reading)), original.hash, 'the stored original is unchanged');
  const page = adjustedSection(report).value;
  t.match(page, /<td class="original">1\.0\.1\.8\.0\.255 = 1000021 Wh[^<]*<\/td><td class="corrected">1\.0\.1\.8\.0\.255 = 2000042 Wh<\/td>/);
  t.ok(reportCsv(report).split('\r\n').some((l) => l.startsWith('M-C,3,adjusted,')), 'the CSV export has the adjusted row');
});

t.test('a run whose only differences are proven gaps and corrections is clean', async (t) => {
  const w = await world(t);
  const meter = makeMeter('M-K', key, { firstSeq: 1n });
  const sent = await readings(w, meter, [...range(1, 4), ...range(8, 9)]);
  gap(w, meter, gapOf(meter, 5n, 7n));
  correction(w, meter, {
    meterId: 'M-K', seq: 10n, originalSeq: 2n, originalHash: sent.get(2n)!.hash, agentTimeMs: BASE + 10_000n, reason: 'estimate replaced by the meter\'s profile',
    registers: [{ obis: '1.0.1.8.0.255', value: 7n, scaler: 3, unit: 'Wh' }], salt: new Uint8Array(16),
  });
  const report = await run(w, { now: () => new Date(Number(BASE) + 12_000), intervalMs: 60_000 }); // not silent
  t.same(report.silentMeters, []);
  t.equal(report.outcome, 'clean');
  t.same(report.items, []);
  t.equal(report.counts.matched, 6);
  t.same([report.explained?.length, report.adjusted?.length], [1, 1]);
  t.match(report.meters?.[0], { explainedMissing: 3, unexplainedMissing: 0 });
  t.same(w.ledger.requests, ['/v1/index?start=0&count=10000'], 'the per-meter roots agree at once: gap and correction leaves are part of the collector\'s tree');
});

t.test('seqCompleteness: explained and unexplained missing seqs, clipped to a range', async (t) => {
  const gaps = [{ seq: 4n, lastSeq: 6n }, { seq: 10n, lastSeq: 1_000_009n }];
  t.same(seqCompleteness([1n, 2n, 3n, 7n], gaps, [], undefined), { explainedMissing: 1_000_003, unexplainedMissing: 2 });
  t.same(seqCompleteness([1n, 2n, 3n, 7n], gaps, [12n], { from: 2n, to: 11n }), { explainedMissing: 5, unexplainedMissing: 2 });
  t.same(seqCompleteness([], [], [], undefined), { explainedMissing: 0, unexplainedMissing: 0 });
  t.same(seqCompleteness([5n], [{ seq: 4n, lastSeq: 6n }], [], undefined), { explainedMissing: 2, unexplainedMissing: 3 }, 'a reading inside a gap is received, not explained');
});
