// Issue 8 item 4, small scale: the `load` benchmark's fleet (200 meters multiplexed over 2 MQTT connections,
// onboarded with the device's enrol()) sends 3 readings each through Debian's mosquitto to a ledger process and a
// collector process. Asserted from both SQLite stores: every reading anchored exactly once and stored exactly
// once — nothing lost, nothing duplicated. No timing is asserted (speed lives in `npm run bench -- load`).
import t from 'tap';
import { announce, connectShards, fleetIds, onboard, sendAll, signReadings } from '../../cli/src/bench/load-fleet.js';
import { collectorRows, ledgerLeaves, mosquittoAvailable, seqRange, startStack } from './faults-harness.js';

const METERS = Number(process.env.METERSEAL_LOAD_METERS ?? 200);
const PER_METER = 3;
const SHARDS = 2;

t.test(`${METERS} meters through mosquitto: every reading anchored once and stored once`, { timeout: 240_000, skip: mosquittoAvailable() ? false : 'no /usr/sbin/mosquitto' }, async (t) => {
  const fleet = fleetIds(METERS, SHARDS);
  const s = await startStack('load-mosquitto', { meters: 0, fleet: fleet.map(({ meterId, customerAccount }) => ({ meterId, customerAccount })) });
  t.teardown(() => s.close());
  const shards = await connectShards(s.broker.url, fleet, SHARDS);
  t.teardown(() => Promise.all(shards.map((x) => x.close())));

  const sessions = await onboard(shards, fleet, (l) => t.comment(l), 60_000);
  t.equal(sessions.length, METERS, 'every meter registered, authenticated and bound a session key through mosquitto');
  await announce(shards, fleet, sessions, 60_000);
  const readings = signReadings(fleet, sessions, PER_METER, 1n);
  // sendAll throws on any refusal or "duplicate" answer: each reading must be appended and stored as new
  await sendAll(shards, fleet, readings, { inFlight: 256, deliveries: true, timeoutMs: 120_000, progress: (l) => t.comment(l) });

  const leaves = ledgerLeaves(s.ledger.dir);
  const { readings: stored, conflicts } = collectorRows(s.collector.dir);
  const wrongLedger = fleet.filter((m) => JSON.stringify(leaves.get(m.meterId)?.map(String)) !== JSON.stringify(seqRange(PER_METER).map(String)));
  const wrongCollector = fleet.filter((m) => JSON.stringify(stored.get(m.meterId)?.map(String)) !== JSON.stringify(seqRange(PER_METER).map(String)));
  t.same(wrongLedger.map((m) => m.meterId), [], `the ledger holds seqs 1..${PER_METER} exactly once for each of the ${METERS} meters`);
  t.same(wrongCollector.map((m) => m.meterId), [], `the collector holds seqs 1..${PER_METER} exactly once for each of the ${METERS} meters`);
  t.equal([...leaves.values()].reduce((n, l) => n + l.length, 0), METERS * PER_METER, 'no other anchor in the log');
  t.equal([...stored.values()].reduce((n, l) => n + l.length, 0), METERS * PER_METER, 'no other reading in the store');
  t.equal(conflicts, 0, 'no conflicting reading');
});
