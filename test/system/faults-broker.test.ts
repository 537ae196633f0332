// Issue 8 item 3, broker restarts: Debian's mosquitto sits between the agents and the ledger/collector processes
// and is killed and restarted (no persistence: sessions and queued messages are gone) several times while the
// agents read. Afterwards every reading the agents produced is anchored exactly once and stored exactly once.
import t from 'tap';
import { drainAll, collectorRows, fetchCheckpoint, ledgerLeaves, logAnchorLeaves, mosquittoAvailable, outboxState, seedFromEnv, seededRng, seqRange, startStack } from './faults-harness.js';
import { waitUntil } from './harness.js';

const RESTARTS = process.env.METERSEAL_LONG === '1' ? 20 : 4;
const METERS = 3;

t.test(`${RESTARTS} mosquitto restarts: every reading anchored once and stored once`, { timeout: 180_000, skip: mosquittoAvailable() ? false : 'no /usr/sbin/mosquitto' }, async (t) => {
  const seed = seedFromEnv();
  const rng = seededRng(seed);
  t.comment(`seed ${seed} (METERSEAL_FAULT_SEED=${seed} repeats the restart points)`);
  const s = await startStack('faults-broker', { meters: METERS, intervalMs: 150 });
  t.teardown(() => s.close());

  let before = 0;
  for (let i = 0; i < RESTARTS; i++) {
    const total = (): number => s.agents.reduce((n, a) => n + a.stats().outbox.ledgerAcked, 0);
    await waitUntil('readings flow between restarts', () => total() >= before + METERS, 60_000);
    await new Promise((r) => setTimeout(r, 100 + rng() * 700));
    await s.broker.stop(rng() < 0.5 ? 'SIGKILL' : 'SIGTERM');
    await new Promise((r) => setTimeout(r, 200 + rng() * 1000)); // agents keep reading into their outboxes meanwhile
    await s.broker.start();
    before = total();
  }
  await drainAll(s.agents);

  const leaves = ledgerLeaves(s.ledger.dir);
  const { readings, conflicts } = collectorRows(s.collector.dir);
  const treeSize = BigInt(((await (await fetch(`${s.ledgerHttp}/healthz`)).json()) as { treeSize: string }).treeSize);
  await waitUntil('a checkpoint covering the whole tree', async () => (await fetchCheckpoint(s.ledgerHttp, s.ledger.dir)).size >= treeSize, 30_000);
  const logLeaves = await logAnchorLeaves(s.ledgerHttp, treeSize); // the log itself, read through its tiles
  let total = 0;
  for (const [i, a] of s.agents.entries()) {
    const box = outboxState(s.agentDirs[i]!);
    const n = box.seqs.length;
    total += n;
    t.ok(n > RESTARTS, `${a.meterId}: readings were taken across the restarts (${n})`);
    t.same(box.seqs, seqRange(n), `${a.meterId}: seqs 1..${n}, none skipped`);
    t.same(leaves.get(a.meterId), seqRange(n), `${a.meterId}: each reading anchored exactly once`);
    t.same(logLeaves.get(a.meterId)?.slice().sort((x, y) => (x < y ? -1 : 1)), seqRange(n), `${a.meterId}: the log's leaves hold each seq exactly once`);
    t.same(readings.get(a.meterId), seqRange(n), `${a.meterId}: each reading stored exactly once`);
  }
  t.equal(conflicts, 0, 'the collector recorded no conflicting reading');
  t.not(s.collector.child, null, 'the collector process survived every restart');
  t.not(s.ledger.child, null, 'the ledger process survived every restart');
  t.ok(s.ledger.lines.some((l) => l.includes('mqtt reconnecting')), 'the ledger saw the broker go and reconnected');
  t.comment(`${RESTARTS} restarts, ${total} readings`);
});
