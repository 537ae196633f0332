// The per-anchor split of a CPU profile: only the publish phase counts, each sample goes to the first matching
// bucket (a signature under the ingest's commit is the promise's, not the commit's), and the rest is `other`.
import t from 'tap';
import { splitPerAnchor, type CpuProfile } from './ledger-profile.js';

const frame = (functionName: string, path: string) => ({ functionName, url: path ? `file:///repo/${path}` : '' });
// 1 root → 2 pump (ledger-load) ; 1 → 3 commit (anchor-ingest) → 4 signHex (promise.ts) ; 3 → 5 appendBatch ; 1 → 6 (idle) ; 1 → 7 elsewhere
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 6, 7] },
    { id: 2, callFrame: frame('pump', 'cli/src/bench/ledger-load.ts') },
    { id: 3, callFrame: frame('commit', 'ledger-service/src/anchor-ingest.ts'), children: [4, 5] },
    { id: 4, callFrame: frame('signHex', 'ledger-service/src/promise.ts') },
    { id: 5, callFrame: frame('appendBatch', 'ledger-service/src/log.ts') },
    { id: 6, callFrame: frame('(idle)', '') },
    { id: 7, callFrame: frame('somethingElse', 'ledger-service/src/other.ts') },
  ],
  startTime: 0,
  // before the phase: 7; the phase runs from the first to the last ledger-load sample; after it: 4
  samples: [7, 2, 4, 4, 5, 3, 6, 7, 2, 4],
  timeDeltas: [0, 100, 100, 100, 100, 100, 100, 100, 100, 100],
};

t.test('µs per anchor by bucket, publish phase only', async (t) => {
  const { windowUs, perAnchor } = splitPerAnchor(profile, 10);
  t.equal(windowUs, 700, 'from the first to the last ledger-load sample');
  t.equal(perAnchor.get('promise: sign on the event loop'), 20, 'two samples of 100 µs over 10 anchors (the one after the phase is not counted)');
  t.equal(perAnchor.get('append: hashing, SQLite, commit+fsync'), 10);
  t.equal(perAnchor.get('decide (duplicates, conflicts) + answer fields'), 10);
  t.equal(perAnchor.get('idle (waiting: worker, disk, sockets)'), 10);
  t.equal(perAnchor.get('bench: meters (mqtt.js clients, answer parsing)'), 20, 'both ledger-load samples');
  t.equal(perAnchor.get('other'), 10, 'the one sample in the phase that no bucket names');
});
