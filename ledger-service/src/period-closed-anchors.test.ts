// The closed-period seq bound (period-closed-anchors.ts, issue 3 item 7 across periods): a resent (meter, seq)
// is looked up in closed periods only when seq is at or below the meter's cached bound, so new readings after a
// rotation cost one bound query per meter, the cache is bounded, and it is rebuilt at the next rotation.
// The ledger end to end (duplicate, CONFLICT, receipt, the agent's promise): test/system/rotation-duplicate.test.ts.
import t from 'tap';
import pino from 'pino';
import { encodeAnchor, encodeSigned, generateKeyPair, keyId, signRecord } from '@meterseal/protocol';
import { loadOrCreateKeys } from './keys.js';
import { PeriodLogSet } from './period-set.js';
import { RotatingLog, RotatingStore } from './period-store.js';
import { ManualClock, tempDir } from './testing/harness.js';

const BASE = 'duplicate.test/ledger';
const T12 = '2026-11-21T12';

t.test('new readings after a rotation cost no closed-period lookup beyond one bound per meter', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 50));
  const keys = loadOrCreateKeys(dir, BASE);
  const set = PeriodLogSet.open({ dataDir: dir, baseOrigin: BASE, unit: 'hour', keys, now: clock.now, logger: pino({ level: 'silent' }) });
  const store = new RotatingStore(set, 2);
  t.teardown(() => store.close());
  const rlog = new RotatingLog(set, store, keys.noteSigner, BASE);
  const session = generateKeyPair();
  const anchor = (meterId: string, seq: bigint): void => {
    const a = { meterId, seq, keyId: keyId(session.publicKey), readingHash: new Uint8Array(32).fill(Number(seq)) };
    const record = encodeAnchor(a);
    rlog.append(encodeSigned(record, signRecord(record, session.secretKey)), { kind: 'anchor', anchor: a });
  };
  for (const id of ['A', 'B', 'C']) for (const seq of [1n, 2n, 3n]) anchor(id, seq);
  clock.ms = Date.UTC(2026, 10, 21, 13, 0, 1);
  anchor('A', 4n); // rotates
  const c = store.closed;
  t.equal(c.find('A', 5n), undefined, 'a new seq is not in a closed period');
  t.same(c.stats, { hits: 0, misses: 1, storeQueries: 1 }, 'one bound query for the meter');
  for (let seq = 6n; seq < 100n; seq++) t.equal(c.find('A', seq), undefined);
  t.same(c.stats, { hits: 94, misses: 1, storeQueries: 1 }, 'every later new seq of that meter: no query at all');
  t.equal(c.find('A', 2n)?.row.leafIndex, 1n, 'an old seq is found in the closed period, at its leaf');
  t.equal(c.find('A', 2n)?.period, T12);
  c.find('B', 9n);
  c.find('C', 9n); // the cache holds 2 meters: A is evicted first
  const before = c.stats.storeQueries;
  c.find('A', 9n);
  t.equal(c.stats.storeQueries, before + 1, 'an evicted meter costs one bound query again (memory is bounded)');
  t.equal(store.maxAnchoredSeq('B'), 3n, 'maxAnchoredSeq: the closed periods\' bound when the current one has none');
  t.equal(store.maxAnchoredSeq('A'), 4n, '… or the current period\'s when higher');
  clock.ms = Date.UTC(2026, 10, 21, 14, 0, 1);
  anchor('A', 5n); // rotates again: 13:00 closes
  t.equal(c.find('A', 4n)?.period, '2026-11-21T13', 'after the next rotation the cache is rebuilt and sees the newly closed period');
  t.equal(c.find('A', 1n)?.period, T12);
});
