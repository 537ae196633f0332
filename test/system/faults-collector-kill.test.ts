// Issue 8 item 3, collector killed: the collector process is killed with SIGKILL at seeded-random points while
// agents deliver through mosquitto, and restarted on the same data directory. After each restart every reading
// the collector had acknowledged before the kill is still in its store; at the end every reading is stored
// exactly once (idempotent on (meter, seq)), none lost, and the ledger anchored each once.
import t from 'tap';
import { collectorRows, drainAll, ledgerLeaves, mosquittoAvailable, outboxState, seedFromEnv, seededRng, seqRange, startStack } from './faults-harness.js';
import { waitUntil } from './harness.js';

const KILLS = Number(process.env.METERSEAL_KILLS ?? (process.env.METERSEAL_LONG === '1' ? 15 : 3));
const METERS = 3;

t.test(`${KILLS} kill -9 of the collector: every reading stored once, none lost`, { timeout: 240_000, skip: mosquittoAvailable() ? false : 'no /usr/sbin/mosquitto' }, async (t) => {
  const seed = seedFromEnv();
  const rng = seededRng(seed);
  t.comment(`seed ${seed} (METERSEAL_FAULT_SEED=${seed} repeats the kill points)`);
  const s = await startStack('faults-collector', { meters: METERS, intervalMs: 100 });
  t.teardown(() => s.close());
  const acked = (): number => s.agents.reduce((n, a) => n + a.stats().outbox.collectorAcked, 0);

  for (let i = 0; i < KILLS; i++) {
    const base = acked();
    await waitUntil('the collector acknowledges deliveries', () => acked() >= base + METERS, 60_000);
    await new Promise((r) => setTimeout(r, rng() * 700)); // lands in the middle of inserts and answers
    await s.collector.stop('SIGKILL');
    const delivered = s.agentDirs.map((d) => outboxState(d).collectorAcked);
    const { readings } = collectorRows(s.collector.dir); // the store as the kill left it (WAL recovered on open)
    for (const [j, a] of s.agents.entries()) {
      const got = new Set(readings.get(a.meterId) ?? []);
      t.same(delivered[j]!.filter((seq) => !got.has(seq)), [], `kill ${i + 1}: ${a.meterId}: all ${delivered[j]!.length} acknowledged readings survived the kill`);
    }
    await new Promise((r) => setTimeout(r, rng() * 500)); // agents keep reading and anchoring meanwhile
    await s.collector.start();
  }
  await drainAll(s.agents);

  const leaves = ledgerLeaves(s.ledger.dir);
  const { readings, conflicts } = collectorRows(s.collector.dir);
  let total = 0;
  for (const [j, a] of s.agents.entries()) {
    const n = outboxState(s.agentDirs[j]!).seqs.length;
    total += n;
    t.same(readings.get(a.meterId), seqRange(n), `${a.meterId}: all ${n} readings stored, each once`);
    t.same(leaves.get(a.meterId), seqRange(n), `${a.meterId}: all ${n} readings anchored, each once`);
  }
  t.equal(conflicts, 0, 'the collector recorded no conflicting reading (a re-sent delivery is a duplicate, not a conflict)');
  t.ok(s.agents.some((a) => a.stats().collector.errors > 0), 'the agents did see the collector go away');
  t.comment(`${KILLS} kills, ${total} readings`);
});
