// The store's compare-and-set (c2sp.org/tlog-witness: check and persist atomically) and its bounded evidence.
import t from 'tap';
import { join } from 'node:path';
import { generateKeyPair } from '@meterseal/protocol';
import { tempDir } from '@meterseal/ledger-service/testing/harness';
import { MAX_EVIDENCE_PER_ORIGIN, SqliteWitnessStore } from './sqlite-store.js';

const head = (size: bigint, fill: number) => ({ size, root: new Uint8Array(32).fill(fill), note: `n${size}`, cosignedAtMs: 1 });

t.test('advance is a compare-and-set; a second handle on the same file sees the result', async (t) => {
  const path = join(tempDir(t, 'meterseal-witness-'), 'witness.sqlite');
  const pub = generateKeyPair().publicKey;
  const a = new SqliteWitnessStore(path, pub);
  const b = new SqliteWitnessStore(path, pub);
  t.teardown(() => { a.close(); b.close(); });
  t.equal(a.latest('o'), null);
  t.ok(a.advance('o', null, head(5n, 1)));
  t.notOk(b.advance('o', null, head(6n, 2)), 'a second first-checkpoint loses');
  t.notOk(b.advance('o', head(5n, 9), head(6n, 2)), 'expected root differs');
  t.notOk(b.advance('o', head(4n, 1), head(6n, 2)), 'expected size differs');
  t.ok(b.advance('o', head(5n, 1), head(7n, 3)));
  t.notOk(a.advance('o', head(5n, 1), head(6n, 2)), 'the stale handle cannot roll back');
  t.match(a.latest('o'), { size: 7n, root: new Uint8Array(32).fill(3), note: 'n7' });
  t.ok(a.advance('big', null, head((1n << 64n) - 1n, 4)), 'u64 sizes');
  t.equal(b.latest('big')?.size, (1n << 64n) - 1n);
  t.throws(() => new SqliteWitnessStore(path, generateKeyPair().publicKey), { code: 'STORE_MISMATCH' });
});

t.test('evidence is kept per origin, at most MAX_EVIDENCE_PER_ORIGIN', async (t) => {
  const s = new SqliteWitnessStore(join(tempDir(t, 'meterseal-witness-'), 'witness.sqlite'), generateKeyPair().publicKey);
  t.teardown(() => s.close());
  for (let i = 0; i < MAX_EVIDENCE_PER_ORIGIN + 5; i++) s.recordEvidence({ origin: 'o', reason: 'BAD_PROOF', request: `r${i}`, receivedAtMs: i });
  s.recordEvidence({ origin: 'p', reason: 'ROOT_MISMATCH', request: 'x', receivedAtMs: 0 });
  const ev = s.evidence('o');
  t.equal(ev.length, MAX_EVIDENCE_PER_ORIGIN);
  t.same(ev[0], { origin: 'o', reason: 'BAD_PROOF', request: 'r0', receivedAtMs: 0 }, 'the first ones are kept');
  t.equal(s.evidence('p').length, 1);
});
