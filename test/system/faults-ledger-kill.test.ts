// Issue 8 item 3, ledger killed: the ledger process is killed with SIGKILL at seeded-random points while agents
// anchor through mosquitto, and restarted on the same data directory. After each restart: every anchor the
// ledger had acknowledged with a promise before the kill is in its log, the new checkpoint is consistent with the
// last one served before the kill (RFC 9162 §2.1.4), and no (meter, seq) has two leaves. At the end every
// reading is anchored once and stored once.
import t from 'tap';
import {
  collectorRows, consistent, drainAll, fetchCheckpoint, ledgerLeaves, logAnchorLeaves, mosquittoAvailable, outboxState, seedFromEnv, seededRng, seqRange, startStack,
} from './faults-harness.js';
import { waitUntil } from './harness.js';

const KILLS = Number(process.env.METERSEAL_KILLS ?? (process.env.METERSEAL_LONG === '1' ? 15 : 3));
const METERS = 3;

t.test(`${KILLS} kill -9 of the ledger: nothing acknowledged is lost, the log stays consistent`, { timeout: 240_000, skip: mosquittoAvailable() ? false : 'no /usr/sbin/mosquitto' }, async (t) => {
  const seed = seedFromEnv();
  const rng = seededRng(seed);
  t.comment(`seed ${seed} (METERSEAL_FAULT_SEED=${seed} repeats the kill points)`);
  const s = await startStack('faults-ledger', { meters: METERS, intervalMs: 100 });
  t.teardown(() => s.close());
  const acked = (): number => s.agents.reduce((n, a) => n + a.stats().outbox.ledgerAcked, 0);

  for (let i = 0; i < KILLS; i++) {
    const base = acked();
    await waitUntil('the ledger acknowledges anchors', () => acked() >= base + METERS, 60_000);
    await new Promise((r) => setTimeout(r, rng() * 500)); // lands in the middle of appends and answers
    const before = await fetchCheckpoint(s.ledgerHttp, s.ledger.dir);
    await new Promise((r) => setTimeout(r, rng() * 200));
    await s.ledger.stop('SIGKILL');
    // what the agents hold as acknowledged (a promise checked and stored) now was acknowledged before the kill
    const promised = s.agentDirs.map((d) => outboxState(d).ledgerAcked);
    const t0 = Date.now();
    await s.ledger.start();
    t.comment(`kill ${i + 1}: ledger restarted in ${Date.now() - t0} ms`);

    const leaves = ledgerLeaves(s.ledger.dir);
    for (const [j, a] of s.agents.entries()) {
      const got = new Set(leaves.get(a.meterId) ?? []);
      const lost = promised[j]!.filter((seq) => !got.has(seq));
      t.same(lost, [], `kill ${i + 1}: ${a.meterId}: all ${promised[j]!.length} promised anchors are in the log after the restart`);
      t.equal(got.size, (leaves.get(a.meterId) ?? []).length, `kill ${i + 1}: ${a.meterId}: no (meter, seq) has two leaves`);
    }
    await waitUntil('a checkpoint after the restart', async () => (await fetchCheckpoint(s.ledgerHttp, s.ledger.dir)).size > before.size, 60_000);
    const after = await fetchCheckpoint(s.ledgerHttp, s.ledger.dir);
    t.ok(await consistent(s.ledgerHttp, before, after), `kill ${i + 1}: checkpoint ${after.size} is consistent with pre-kill checkpoint ${before.size}`);
  }
  const t1 = Date.now();
  await drainAll(s.agents);
  t.comment(`drained in ${Date.now() - t1} ms`);
  // promises carry a 3 s deadline (maxMergeDelayMs); after it each agent fetches the receipt and checks it
  await waitUntil('every promise checked against a receipt', () => s.agents.every((a) => a.stats().promises.held === 0), 60_000);

  const leaves = ledgerLeaves(s.ledger.dir);
  const { readings, conflicts } = collectorRows(s.collector.dir);
  const treeSize = BigInt(((await (await fetch(`${s.ledgerHttp}/healthz`)).json()) as { treeSize: string }).treeSize);
  await waitUntil('a checkpoint covering the whole tree', async () => (await fetchCheckpoint(s.ledgerHttp, s.ledger.dir)).size >= treeSize, 30_000);
  const final = await fetchCheckpoint(s.ledgerHttp, s.ledger.dir);
  const logLeaves = await logAnchorLeaves(s.ledgerHttp, final.size); // the log itself, read through its tiles
  for (const [j, a] of s.agents.entries()) {
    const n = outboxState(s.agentDirs[j]!).seqs.length;
    t.same(leaves.get(a.meterId), seqRange(n), `${a.meterId}: all ${n} readings anchored, each once`);
    t.same([...(logLeaves.get(a.meterId) ?? [])].sort((x, y) => (x < y ? -1 : 1)), seqRange(n), `${a.meterId}: the log's leaves hold each seq exactly once`);
    t.same(readings.get(a.meterId), seqRange(n), `${a.meterId}: all ${n} readings stored, each once`);
    t.match(a.stats().promises, { fulfilled: n, brokenPromises: 0 }, `${a.meterId}: every promise, including those given before a kill, fulfilled by a receipt`);
  }
  t.equal(conflicts, 0, 'the collector recorded no conflicting reading');
});
