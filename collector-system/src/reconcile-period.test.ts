// Reconciliation across a REAL rotating ledger (ledger-service startLedger, hourly periods, a manual UTC clock):
// readings anchored in three period logs and stored in a real SQLite collector store. Each period's proven
// per-meter index decides which readings it holds; a closed period's ledger data is cached, the readings are
// re-hashed every run; the chain of periods is verified and a broken one is an alarm.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { startAirgap } from '@meterseal/airgap-controller';
import { encodeReading, meterLeafHash, openCheckpoint, parseVerifierKey, readingHash, rootOfLeaves } from '@meterseal/protocol';
import { ManualClock, startTestLedger, tempDir as ledgerDir, writeWhitelist } from '@meterseal/ledger-service/testing/harness';
import type { FakeMeter } from '@meterseal/ledger-service/testing/fake-meter';
import { tamperStoredReadings } from './insider.js';
import { LedgerClient } from './ledger-client.js';
import { reconcile } from './reconcile.js';
import { comparePeriods, prefixRoot } from './reconcile-period.js';
import { MemoryPeriodCache } from './reconcile-period-cache.js';
import { RunStore } from './runs.js';
import { openSqliteStore, type SqliteCollectorStore } from './sqlite-store.js';
import { makeReading } from './testing/fixtures.js';
import { freePort, silentLog, tempDir, type Teardown } from './testing/harness.js';
import { reconcileThroughAirgap } from './window.js';
import { loadWitnessKey, witnessCheckpoint, type WitnessStateStore } from './witness.js';

const BASE = 'collector-rotation.test/ledger';
const [T12, T13, T14] = ['2026-11-21T12', '2026-11-21T13', '2026-11-21T14'];
const AT = '2026-11-21T14:30:00.000Z';
/** Readings of makeReading are taken at 1_795_262_400_000 + seq s; an hour later nothing is pending. */
const LATER = { now: () => new Date(1_795_262_400_000 + 3_600_000), intervalMs: 1000 };
const counts = (c: Partial<Record<'matched' | 'tampered' | 'missing' | 'unanchored' | 'conflicts' | 'pending', number>>) =>
  ({ matched: 0, tampered: 0, missing: 0, unanchored: 0, conflicts: 0, pending: 0, ...c });

interface RotWorld {
  store: SqliteCollectorStore;
  url: string;
  verifier: ReturnType<typeof parseVerifierKey>;
  clock: ManualClock;
  meters: Map<string, FakeMeter>;
  checkpointNow(): Promise<string>;
  /** Anchors (meter, seq) in the ledger's current period; `store` false: the collector never receives it. */
  reading(meterId: string, seq: bigint, store?: boolean): Promise<void>;
}

/**
 * A rotating ledger whose clock starts at 12:58; `plan` lists, per period, the (meter, seqs) anchored in it
 * (in that order). Every reading is stored in the collector unless listed in `notStored`.
 */
async function rotWorld(t: Teardown, plan: Array<Record<string, number[]>>, notStored: Array<[string, number]> = []): Promise<RotWorld> {
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 58, 0));
  const dataDir = ledgerDir(t);
  const meterIds = [...new Set(plan.flatMap((p) => Object.keys(p)))].sort();
  writeWhitelist(dataDir, meterIds.map((meterId, i) => ({ meterId, customerAccount: `A-${i}` })));
  const { ledger, meter } = await startTestLedger(t, { dataDir, config: { origin: BASE, rotation: { period: 'hour' }, checkpointIntervalMs: 3_600_000 }, now: clock.now });
  const dir = tempDir(t);
  const store = openSqliteStore(dir);
  t.teardown(() => store.close());
  const meters = new Map<string, FakeMeter>();
  for (const meterId of meterIds) {
    const m = await meter({ meterId, customerAccount: `A-${meterIds.indexOf(meterId)}` });
    await m.onboard(1n);
    meters.set(meterId, m);
  }
  const w: RotWorld = {
    store, url: ledger.httpUrl, verifier: parseVerifierKey(ledger.verifierKey), clock, meters, checkpointNow: () => ledger.checkpointNow(),
    async reading(meterId, seq, keep = true) {
      const m = meters.get(meterId)!;
      const reading = makeReading(meterId, seq);
      const bytes = encodeReading(reading);
      const r = (await m.anchor(seq, readingHash(bytes))).response;
      if (!r.ok) throw new Error(`anchor ${meterId} ${seq} refused: ${r.error?.code}`);
      if (keep) await store.insertReadings([{ reading, bytes, keyId: m.session!.keyId, signature: new Uint8Array(64).fill(9), receivedAt: AT }]);
    },
  };
  for (const [i, period] of plan.entries()) {
    clock.ms = Date.UTC(2026, 10, 21, 12 + i, i === 0 ? 58 : 0, 5); // past each boundary by the ledger's UTC clock
    for (const [meterId, seqs] of Object.entries(period)) {
      for (const s of seqs) await w.reading(meterId, BigInt(s), !notStored.some(([m, n]) => m === meterId && n === s));
    }
  }
  await ledger.checkpointNow();
  return w;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const run = (w: RotWorld, extra: Partial<Parameters<typeof reconcile>[0]> = {}) => reconcile({ store: w.store, relayUrl: w.url, verifier: w.verifier, log: silentLog, ...LATER, ...extra });

// M-A arrives in seq order; M-B's seq 7 arrives in 12:00 before seq 6 (which arrives, late, in 13:00); M-C only in 14:00
const PLAN: Array<Record<string, number[]>> = [{ 'M-A': range(1, 5), 'M-B': [1, 2, 3, 4, 5, 7] }, { 'M-A': range(6, 10), 'M-B': [6, 8, 9] }, { 'M-A': range(11, 12), 'M-B': [10], 'M-C': range(1, 3) }];

t.test('clean over three periods: all matched, none missing; a second run takes the closed periods from the cache', async (t) => {
  const w = await rotWorld(t, PLAN);
  const runs = new RunStore(w.store.path);
  t.teardown(() => runs.close());
  const soon = { now: () => new Date(1_795_262_400_000 + 20_000), intervalMs: 60_000 }; // no meter silent, nothing overdue
  const first = await run(w, { runs, ...soon });
  t.same(first.counts, counts({ matched: 12 + 10 + 3 }));
  t.same(first.items, []);
  t.equal(first.outcome, 'clean');
  t.match(first.chain, { status: 'verified', periods: [T12, T13, T14] });
  t.same(first.periods!.map((p) => [p.period, p.closed, p.cached ?? false]), [[T12, true, false], [T13, true, false], [T14, false, false]]);
  t.equal(first.checkpoint.origin, `${BASE}/${T14}`);

  const second = await run(w, { runs, ...soon });
  t.same(second.counts, first.counts, 'the same verdicts');
  t.same(second.periods!.map((p) => [p.period, p.cached ?? false]), [[T12, true], [T13, true], [T14, false]], 'closed periods from the cache');
  // first: current index + /periods + 2 × (link + index) + current link + inclusion + M-B's walk in 12:00; second: no closed-period request
  t.ok(second.traffic!.requests <= first.traffic!.requests - 4, `fewer requests: ${first.traffic!.requests} then ${second.traffic!.requests}`);
});

t.test('one reading of a closed period altered at rest, after a clean cached run: tampered, located by meter, seq and period', async (t) => {
  const w = await rotWorld(t, PLAN);
  const runs = new RunStore(w.store.path);
  t.teardown(() => runs.close());
  t.same((await run(w, { runs })).items, []);
  const [edited] = tamperStoredReadings(w.store, 1, () => 0); // the first stored reading: M-A seq 1, anchored in 12:00
  t.same(edited, { meterId: 'M-A', seq: 1n });
  const report = await run(w, { runs });
  t.same(report.periods!.map((p) => p.cached ?? false), [true, true, false], 'the ledger side came from the cache; the reading was re-hashed');
  t.same(report.counts, counts({ matched: 24, tampered: 1 }));
  t.match(report.items, [{ meterId: 'M-A', seq: '1', outcome: 'tampered', period: T12 }]);
  t.same(runs.divergences(report.id), [{ meterId: 'M-A', seq: 1n, outcome: 'tampered', period: T12 }], 'the period is kept with the run');
  t.not(report.items[0]!.collectedHash, report.items[0]!.ledgerHash);
  t.equal(report.outcome, 'divergent');
});

t.test('a reading the ledger anchored in period 1 that the collector lacks is missing there; one the ledger lacks is unanchored', async (t) => {
  const w = await rotWorld(t, PLAN, [['M-B', 3]]);
  const extra = makeReading('M-C', 9n);
  await w.store.insertReadings([{ reading: extra, bytes: encodeReading(extra), keyId: w.meters.get('M-C')!.session!.keyId, signature: new Uint8Array(64), receivedAt: AT }]);
  const report = await run(w);
  t.same(report.counts, counts({ matched: 24, missing: 1, unanchored: 1 }));
  t.match(report.items, [
    { meterId: 'M-B', seq: '3', outcome: 'missing', period: T12 },
    { meterId: 'M-C', seq: '9', outcome: 'unanchored', period: T14 },
  ]);
  t.match(report.items[0]!.ledgerHash, /^[0-9a-f]{64}$/, 'the ledger side of a missing reading: its anchored hash');
  t.notOk(report.items[0]!.collectedHash);
});

t.test('a ledger that does not rotate is reconciled as before: no /periods, no period in the items', async (t) => {
  const dataDir = ledgerDir(t);
  writeWhitelist(dataDir, [{ meterId: 'M-N', customerAccount: 'A-N' }]);
  const { ledger, meter } = await startTestLedger(t, { dataDir, config: { origin: BASE } });
  const m = await meter({ meterId: 'M-N', customerAccount: 'A-N' });
  await m.onboard(1n);
  const store = openSqliteStore(tempDir(t));
  t.teardown(() => store.close());
  for (const s of [1n, 2n, 3n]) {
    const reading = makeReading('M-N', s);
    await m.anchor(s, readingHash(encodeReading(reading)));
    if (s !== 2n) await store.insertReadings([{ reading, bytes: encodeReading(reading), keyId: m.session!.keyId, signature: new Uint8Array(64), receivedAt: AT }]);
  }
  await ledger.checkpointNow();
  const report = await reconcile({ store, relayUrl: ledger.httpUrl, verifier: parseVerifierKey(ledger.verifierKey), log: silentLog, ...LATER });
  t.equal(report.checkpoint.origin, BASE);
  t.same(report.counts, counts({ matched: 2, missing: 1 }));
  t.same(report.items.map((i) => [i.seq, i.outcome, i.period]), [['2', 'missing', undefined]]);
  t.notOk(report.periods ?? report.chain, 'no period summary for a single log');
});

/** A proxy in front of the ledger that rewrites one answer (a ledger lying about its chain). */
async function lyingProxy(t: Teardown, target: string, rewrite: (path: string, body: string) => string): Promise<string> {
  const server: Server = createServer(async (req, res) => {
    const r = await fetch(`${target}${req.url}`);
    const body = rewrite(req.url ?? '', await r.text());
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const a = server.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}

t.test('a broken chain is an alarm: a period hidden from /periods, or a forged link', async (t) => {
  const w = await rotWorld(t, PLAN);
  const hidden = await lyingProxy(t, w.url, (path, body) => {
    if (path !== '/periods') return body;
    const j = JSON.parse(body) as { periods: Array<{ period: string }> };
    return JSON.stringify({ ...j, periods: j.periods.filter((p) => p.period !== T13) });
  });
  const r1 = await run(w, { relayUrl: hidden });
  t.equal(r1.outcome, 'alarm');
  t.match(r1.chain, { status: 'alarm', periods: [T12, T14], alarm: { code: 'CHAIN_MISMATCH', message: /period 2026-11-21T14/ } });

  const forged = await lyingProxy(t, w.url, (path, body) => {
    if (path !== `/period/${T13}/link`) return body;
    const j = JSON.parse(body) as { firstEntryProof: string[] };
    return JSON.stringify({ ...j, firstEntryProof: j.firstEntryProof.map((h, i) => (i === 0 ? `${h[0] === 'A' ? 'B' : 'A'}${h.slice(1)}` : h)) });
  });
  const cache = new MemoryPeriodCache();
  const r2 = await run(w, { relayUrl: forged, periodCache: cache });
  t.match(r2.chain, { status: 'alarm', alarm: { code: 'CHAIN_PROOF' } });
  t.equal(r2.outcome, 'alarm');
  t.same(r2.counts, counts({ matched: 25 }), 'the readings are still reconciled, each period against its own signed checkpoint');
  t.same(cache.origins(), [], 'nothing of a broken chain is cached');
  const r3 = await run(w, { periodCache: cache });
  t.match(r3.chain, { status: 'verified' });
  t.equal(cache.origins().length, 2);
  const rewritten = await lyingProxy(t, w.url, (path, body) => {
    if (path !== '/periods') return body;
    const j = JSON.parse(body) as { periods: Array<{ period: string; finalCheckpoint?: string }> };
    return JSON.stringify({ ...j, periods: j.periods.map((p) => (p.period === T12 ? { ...p, finalCheckpoint: `${p.finalCheckpoint}\n` } : p)) });
  });
  const r4 = await run(w, { relayUrl: rewritten, periodCache: cache });
  t.match(r4.chain, { status: 'alarm', alarm: { code: 'CHAIN_REWRITTEN' } }, 'a closed period listed with another final checkpoint than cached');
});

/** The collector's witness of a rotating ledger, with its key and state in the runs store. */
function witnessOf(t: Teardown, w: RotWorld) {
  const runs = new RunStore(w.store.path);
  t.teardown(() => runs.close());
  const wkey = loadWitnessKey(join(tempDir(t), 'witness.key'), 'collector.test/witness');
  return { runs, wkey, witness: { signer: wkey.signer, store: runs } };
}

/** Moves the ledger's clock past the next hour boundary and anchors (meter, seq) there. */
async function nextHour(w: RotWorld, hour: number, readings: Array<[string, number]>): Promise<void> {
  w.clock.ms = Date.UTC(2026, 10, 21, hour, 0, 5);
  for (const [m, s] of readings) await w.reading(m, BigInt(s));
  await w.checkpointNow();
}

t.test('the witness follows the chain: cosigned across one rotation and across two, the final checkpoint proven to extend what it cosigned', async (t) => {
  const w = await rotWorld(t, [{ 'M-A': range(1, 3) }]);
  const { runs, witness } = witnessOf(t, w);
  const first = await run(w, { runs, witness });
  t.match(first.witness, { status: 'first', period: T12 });
  const cosigned12 = runs.witnessHead(BASE)!;
  await w.reading('M-A', 4n); // the 12:00 log grows past what was cosigned before it closes
  await nextHour(w, 13, [['M-A', 5]]);
  const second = await run(w, { runs, witness });
  t.equal(second.outcome, 'divergent', 'no alarm (M-A is silent by the clock of the run)');
  t.match(second.witness, { status: 'cosigned', period: T13, previousPeriod: T12, previousSize: cosigned12.size.toString() });
  t.equal(runs.witnessHead(BASE)!.origin, `${BASE}/${T13}`, 'the head moved to the new period');
  await nextHour(w, 14, [['M-A', 6]]);
  await nextHour(w, 15, [['M-A', 7]]);
  const third = await run(w, { runs, witness });
  t.match(third.witness, { status: 'cosigned', period: '2026-11-21T15', previousPeriod: T13 }, 'two links followed back to the period last cosigned');
  t.same(third.counts, counts({ matched: 7 }));
  t.equal(runs.cosignatureCount(), 3);
});

t.test('witness alarms: a forged link, a closed period that does not extend what was cosigned, and an older period after a newer one', async (t) => {
  const w = await rotWorld(t, [{ 'M-A': range(1, 3) }]);
  const { runs, witness } = witnessOf(t, w);
  t.match((await run(w, { runs, witness })).witness, { status: 'first' });
  const head = runs.witnessHead(BASE)!;
  await nextHour(w, 13, [['M-A', 4]]);

  // the ledger proves entry 0 of 13:00 with a forged inclusion proof
  const forged = await lyingProxy(t, w.url, (path, body) => {
    if (!path.startsWith(`/period/${T13}/v1/proof/inclusion`)) return body;
    const j = JSON.parse(body) as { proof: string[] };
    return JSON.stringify({ ...j, proof: j.proof.map((h, i) => (i === 0 ? `${h[0] === 'a' ? 'b' : 'a'}${h.slice(1)}` : h)) });
  });
  const r1 = await run(w, { runs, witness, relayUrl: forged });
  t.match(r1.witness, { status: 'alarm', period: T13, previousPeriod: T12, alarm: { code: 'CHAIN_BROKEN', message: /does not chain back to period 2026-11-21T12/ } });
  t.equal(r1.outcome, 'alarm');
  t.notOk(r1.witness!.cosignature, 'not cosigned');
  t.same(runs.witnessHead(BASE), head, 'the state stays at what was cosigned');

  // what the witness cosigned in 12:00 is not what the final checkpoint of 12:00 extends (a fork before the boundary)
  runs.saveCosignature({ ...head, root: new Uint8Array(32).fill(1) });
  const r2 = await run(w, { runs, witness });
  t.match(r2.witness, { status: 'alarm', alarm: { code: 'FORK', message: /period 2026-11-21T12 closed at size/ } });
  runs.saveCosignature(head);
  const r3 = await run(w, { runs, witness });
  t.match(r3.witness, { status: 'cosigned', period: T13, previousPeriod: T12 }, 'the honest chain is cosigned');

  // then the 12:00 final checkpoint is offered again: a period never reopens
  const client = new LedgerClient(w.url);
  t.teardown(() => client.close());
  const final = (await client.periods()).periods[0]!.finalCheckpoint!;
  const back = await witnessCheckpoint({
    checkpoint: openCheckpoint(final, w.verifier), note: final, signer: witness.signer, store: runs, now: new Date(), consistencyProof: (a, b) => client.consistencyProof(a, b),
    ledger: { base: BASE, verifier: w.verifier, periodLink: (p) => client.periodLink(p), inclusionProof: (i, n, p) => client.inclusionProof(i, n, p), consistencyProof: (a, b, p) => client.consistencyProof(a, b, p) },
  });
  t.match(back, { status: 'alarm', alarm: { code: 'PERIOD_REGRESSED' }, period: T12, previousPeriod: T13 });
  t.equal(runs.witnessHead(BASE)!.origin, `${BASE}/${T13}`);
});

t.test('through the real air-gap relay: every period path the collector uses passes the relay policy', async (t) => {
  const w = await rotWorld(t, PLAN);
  const dir = tempDir(t);
  const auditLog = join(dir, 'audit.jsonl');
  const target = new URL(w.url);
  const airgap = await startAirgap(
    { control: { host: '127.0.0.1', port: 0 }, relay: { host: '127.0.0.1', port: await freePort() }, target: { host: target.hostname, port: Number(target.port) }, maxWindowMs: 60_000, auditLog },
    { log: silentLog },
  );
  t.teardown(() => airgap.close());
  const report = await reconcileThroughAirgap({ store: w.store, airgap: airgap.controlAddress, verifier: w.verifier, reason: 'rotation test', log: silentLog, reconcile: LATER });
  t.same(report.counts, counts({ matched: 25 }));
  t.match(report.chain, { status: 'verified', periods: [T12, T13, T14] });
  const events = readFileSync(auditLog, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as { event: string });
  t.same(events.filter((e) => e.event === 'refused'), [], 'no request refused by the relay');
});

t.test('a witness state kept without a head (an older collector, or a store without witnessHead) is found through entry 0', async (t) => {
  const w = await rotWorld(t, [{ 'M-A': range(1, 3) }]);
  const { runs, witness } = witnessOf(t, w);
  const store: WitnessStateStore = { // keeps states per origin only, as before heads
    witnessState: (o) => runs.witnessState(o),
    saveCosignature: ({ ledger: _ledger, ...s }) => runs.saveCosignature(s),
  };
  t.match((await run(w, { witness: { signer: witness.signer, store } })).witness, { status: 'first', period: T12 });
  t.notOk(runs.witnessHead(BASE), 'no head kept');
  await nextHour(w, 13, [['M-A', 4]]);
  const r = await run(w, { witness: { signer: witness.signer, store } });
  t.match(r.witness, { status: 'cosigned', period: T13, previousPeriod: T12 }, 'the chain was followed from the state of the previous period');
});

t.test('prefixRoot is RFC 9162 MTH of the first n leaves (protocol rootOfLeaves), null when one cannot be encoded', async (t) => {
  const leaves = Array.from({ length: 70 }, (_, i) => ({ seq: BigInt(i), leafHash: readingHash(new Uint8Array([i])), readingHash: null }));
  for (let n = 0; n <= 70; n++) t.same(prefixRoot(leaves, n), rootOfLeaves(leaves.map((l) => l.leafHash), 0, n), `n = ${n}`);
  t.equal(prefixRoot([...leaves.slice(0, 5), { seq: 5n, leafHash: null, readingHash: null }], 6), null);
});

t.test('a reading resent after the boundary (deduplicated to the closed period, or anchored twice) is matched, never missing', async (t) => {
  const w = await rotWorld(t, [{ 'M-A': range(1, 4) }]);
  const m = w.meters.get('M-A')!;
  const reading = makeReading('M-A', 5n);
  const bytes = encodeReading(reading);
  await m.anchor(5n, readingHash(bytes));
  await w.store.insertReadings([{ reading, bytes, keyId: m.session!.keyId, signature: new Uint8Array(64), receivedAt: AT }]);
  w.clock.ms = Date.UTC(2026, 10, 21, 13, 0, 5);
  const again = (await m.anchor(5n, readingHash(bytes))).response; // the agent did not see the ack: the same reading again, in 13:00
  await w.reading('M-A', 6n);
  await w.checkpointNow();
  const report = await run(w);
  t.same(report.counts, counts({ matched: 6 }));
  t.same(report.items, []);
  t.match(report.chain, { status: 'verified', periods: [T12, T13] });
  const inT13 = (await (await fetch(`${w.url}/period/${T13}/v1/anchors?meter=M-A&from=0&to=10`)).json()) as { anchors: Array<{ seq: string }> };
  t.comment(`resend answered ${JSON.stringify(again).slice(0, 120)}; seqs anchored in 13:00: ${inT13.anchors.map((a) => a.seq).join(',')}`);
});

t.test('comparePeriods: a seq anchored in two periods with the same leaf is one match; with another leaf, tampered in the later period', async (t) => {
  const anchor = (seq: number, fill = seq) => ({ meterId: 'M-X', seq: BigInt(seq), keyId: new Uint8Array(8), readingHash: new Uint8Array(32).fill(fill) });
  const mine = [1, 2, 3, 4].map((s) => ({ seq: BigInt(s), leafHash: meterLeafHash(anchor(s)), readingHash: null }));
  const logOf = (period: string, anchors: ReturnType<typeof anchor>[]) => {
    const leaf = { meterId: 'M-X', treeSize: BigInt(anchors.length), treeRoot: rootOfLeaves(anchors.map(meterLeafHash)), keyEventsSize: 0n, keyEventsRoot: new Uint8Array(32) };
    return { period, origin: `${BASE}/${period}`, closed: period !== T13, checkpoint: {} as never, leaves: new Map([['M-X', leaf]]), cached: false, anchors };
  };
  for (const [name, second, expected] of [
    ['same leaf', [anchor(3), anchor(4)], []],
    ['another leaf', [anchor(3, 99), anchor(4)], [{ kind: 'tampered', seq: 3n, period: T13 }]],
  ] as const) {
    const logs = [logOf(T12, [anchor(1), anchor(2), anchor(3)]), logOf(T13, [...second])];
    const asked: string[] = [];
    const client = { meterNode: async (_m: string, _size: bigint, _s: bigint, _e: bigint, period?: string) => (asked.push(period!), { leaves: logs.find((l) => l.period === period)!.anchors }) } as unknown as LedgerClient;
    const r = await comparePeriods('M-X', mine, logs, client);
    t.same(r.verdicts.filter((v) => v.kind !== 'matched').map((v) => ({ kind: v.kind, seq: v.seq, period: v.period })), expected, name);
    t.equal(r.matchedInBulk + r.verdicts.filter((v) => v.kind === 'matched').length, 4, `${name}: each stored reading matched once (seq 3 in 12:00)`);
    t.same(asked, [T13], `${name}: 12:00 matched by its prefix root, 13:00 walked`);
  }
});
