// The feeder across log rotations (feeder.ts, feeder-link.ts) against a real witness service: it follows a
// rotating ledger from period to period with links, over periods the witness never saw, and after losing its
// own state (a ledger restart), through the witness's 409 witness-head answer.
import t from 'tap';
import { countWitnesses, parseCosignatureVerifierKey, periodOrigin } from '@meterseal/protocol';
import { tempDir } from '@meterseal/ledger-service/testing/harness';
import { submitToWitness, type CheckpointSource, type FeederState } from './feeder.js';
import { startWitness } from './service.js';
import { silent } from './testing/harness.js';
import { RotatingSimLedger } from './testing/rotating-ledger.js';

const BASE = 'ledger.example/log';

function sourceOf(L: RotatingSimLedger): CheckpointSource {
  return { latest: () => L.checkpoint(), consistencyProof: (from, to) => L.logConsistencyProof(L.current.origin, from, to), periods: L };
}

t.test('the feeder keeps a witness cosigning across rotations, skipped periods and its own restart', async (t) => {
  const L = new RotatingSimLedger(BASE, '2026-11-21T12');
  const W = await startWitness(
    { dataDir: tempDir(t, 'meterseal-witness-'), name: 'witness.test/feed', http: { port: 0 }, logs: [{ origin: BASE, verifierKey: L.verifierKey, rotates: true }] },
    { log: silent },
  );
  t.teardown(() => W.close());
  const v = parseCosignatureVerifierKey(W.verifierKey);
  const state: FeederState = {};
  const feed = (s: FeederState = state) => submitToWitness({ source: sourceOf(L), witnessUrl: W.url, state: s, witnessVerifierKey: W.verifierKey });

  L.grow(3);
  t.equal((await feed()).size, 3n);
  L.grow(4);
  t.equal((await feed()).size, 7n);
  L.grow(2); // the final checkpoint of 12:00 is at 9; the witness cosigned 7
  L.rotate('2026-11-21T13', { carried: 2 });
  L.grow(1);
  const r13 = await feed();
  t.equal(r13.size, 4n, 'the new period log (entry 0, 2 carried, 1 new) is cosigned through its link');
  t.equal(countWitnesses(r13.cosignedNote, [v]), 1);
  t.same(state, { witnessSize: 4n, origin: periodOrigin(BASE, '2026-11-21T13') }, 'the state follows the new log');
  t.equal(W.latest(periodOrigin(BASE, '2026-11-21T12'))?.size, 9n, 'the witness holds 12:00\'s final checkpoint');

  // the witness is not fed for two periods: one link per period it skipped
  L.grow(2);
  L.rotate('2026-11-21T14');
  L.grow(5);
  L.rotate('2026-11-21T16');
  const r16 = await feed();
  t.equal(r16.size, 2n, 'cosigned over 14:00 which the witness never saw');
  t.same(W.position(BASE), { origin: periodOrigin(BASE, '2026-11-21T16'), period: '2026-11-21T16' });

  // the ledger restarts (the feeder's state is lost) after one more rotation
  L.grow(3);
  t.equal((await feed()).size, 5n);
  L.grow(1);
  L.rotate('2026-11-21T17');
  const fresh: FeederState = {};
  const r17 = await feed(fresh);
  t.equal(r17.size, 2n, 'a feeder without state learns the witness\'s position from its 409 and links from there');
  t.equal(fresh.origin, periodOrigin(BASE, '2026-11-21T17'));
  t.equal(W.evidence(periodOrigin(BASE, '2026-11-21T17')).length, 0, 'no evidence on the way');
});
