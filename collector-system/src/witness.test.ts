// The collector as a witness (witness.ts): it cosigns only checkpoints consistent with the last one it
// cosigned, and raises an alarm — never a cosignature — on a rewritten or forked ledger history.
import { join } from 'node:path';
import t from 'tap';
import { parseCosignatureVerifierKey, parseVerifierKey, verifyCosignature } from '@meterseal/protocol';
import { reconcile } from './reconcile.js';
import { RunStore } from './runs.js';
import { openSqliteStore } from './sqlite-store.js';
import { deliver, makeLedgerKey, makeMeter, makeReading } from './testing/fixtures.js';
import { startFakeLedger, type FakeLedger } from './testing/fake-ledger.js';
import { silentLog, tempDir, type Teardown } from './testing/harness.js';
import { loadWitnessKey } from './witness.js';

const key = makeLedgerKey();
const verifier = parseVerifierKey(key.vkey);
const meter = makeMeter('M-W', key);

async function setup(t: Teardown) {
  const dir = tempDir(t);
  const store = openSqliteStore(dir);
  t.teardown(() => store.close());
  const runs = new RunStore(store.path);
  t.teardown(() => runs.close());
  const ledger: FakeLedger = await startFakeLedger(key);
  t.teardown(() => ledger.close());
  const wkey = loadWitnessKey(join(dir, 'witness.key'), 'collector.test/witness');
  const anchor = (from: number, to: number): void => {
    for (let s = from; s <= to; s++) ledger.anchor(meter, deliver(meter, makeReading('M-W', BigInt(s)), { sign: false }));
  };
  const run = () => reconcile({ store, relayUrl: ledger.url, verifier, log: silentLog, runs, witness: { signer: wkey.signer, store: runs }, now: () => new Date(1_795_262_400_000 + 3_600_000), intervalMs: 1000 });
  return { dir, store, runs, ledger, wkey, anchor, run };
}

t.test('first checkpoint cosigned, a consistent larger one cosigned too; the cosignatures verify and are kept', async (t) => {
  const w = await setup(t);
  w.anchor(1, 10);
  const first = await w.run();
  t.match(first.witness, { status: 'first' });
  t.equal(first.outcome, 'divergent', 'the ledger has readings the collector lacks, but no alarm');
  const state1 = w.runs.witnessState(key.origin)!;
  t.equal(state1.size, 10n);
  const v = parseCosignatureVerifierKey(w.wkey.vkey);
  t.ok(verifyCosignature(`${state1.body}\n${state1.cosignature}`, v).timestamp > 0n, 'a valid cosignature/v1 over the checkpoint body');
  w.anchor(11, 25);
  const second = await w.run();
  t.match(second.witness, { status: 'cosigned', previousSize: '10' });
  t.ok(w.ledger.requests.includes('/v1/proof/consistency?from=10&to=25'), 'the consistency proof was asked for');
  t.equal(w.runs.witnessState(key.origin)!.size, 25n);
  t.equal(w.runs.cosignatureCount(), 2);
  t.same(loadWitnessKey(join(w.dir, 'witness.key'), 'collector.test/witness').vkey, w.wkey.vkey, 'the key is kept');
});

t.test('a changed leaf at the same size is a FORK alarm; grown on from it, INCONSISTENT; nothing is cosigned', async (t) => {
  const w = await setup(t);
  w.anchor(1, 12);
  await w.run();
  w.ledger.rewriteFrom(5); // entries 5.. altered: same size, another root
  const fork = await w.run();
  t.equal(fork.outcome, 'alarm');
  t.match(fork.witness, { status: 'alarm', alarm: { code: 'FORK', message: /two different roots for tree size 12/ } });
  t.notOk(fork.witness!.cosignature, 'not cosigned');
  w.anchor(13, 20);
  const grown = await w.run();
  t.match(grown.witness, { status: 'alarm', alarm: { code: 'INCONSISTENT', message: /not an extension of the cosigned tree of size 12/ } });
  t.equal(w.runs.witnessState(key.origin)!.size, 12n, 'the state stays at what was cosigned');
  t.equal(w.runs.cosignatureCount(), 1);
  t.match(w.runs.runs(), [{ outcome: 'alarm', witnessStatus: 'alarm' }, { outcome: 'alarm' }, { witnessStatus: 'first' }]);
});

t.test('truncate-and-regrow: a smaller tree is TREE_SHRANK, regrown past the old size INCONSISTENT', async (t) => {
  const w = await setup(t);
  w.anchor(1, 16);
  await w.run();
  w.ledger.truncate(9);
  const shrunk = await w.run();
  t.match(shrunk.witness, { status: 'alarm', alarm: { code: 'TREE_SHRANK', message: /9 entries, fewer than the 16/ } });
  w.anchor(30, 40); // a different history past the old size
  const regrown = await w.run();
  t.match(regrown.witness, { status: 'alarm', alarm: { code: 'INCONSISTENT' } });
  t.equal(regrown.outcome, 'alarm');
  t.equal(w.runs.cosignatureCount(), 1);
});
