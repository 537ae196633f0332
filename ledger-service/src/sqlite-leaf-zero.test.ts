// SqliteStore.replaceLeafZero (a period log staged ahead, period-prepare.ts): leaf 0 written last, with the
// left edge of the tree recomputed in the same transaction, must give exactly the tree that appending the real
// leaf 0 first gives — at every stored level (8 and 16: more than 65 536 leaves), for the root at several
// sizes, for inclusion proofs of leaf 0, and after reopening the file. Refused once a checkpoint is signed.
import { join } from 'node:path';
import t from 'tap';
import { inclusionProof, leafHash, rootAt, toHex, utf8, verifyInclusion } from '@meterseal/protocol';
import { openSqliteStore, type SqliteStore } from './sqlite-store.js';
import type { AppendRequest } from './store.js';
import { tempDir } from './testing/harness.js';

const N = 70_000; // > 2^16: the left edge has a stored node at levels 8 and 16
const REAL = utf8.encode('entry 0: the real PreviousLog');

function fill(s: SqliteStore, first: Uint8Array): void {
  s.appendBatch([{ index: 0n, entry: first, effect: { kind: 'previous-log' } }]);
  for (let base = 1; base < N; base += 10_000) {
    const reqs: AppendRequest[] = [];
    for (let i = base; i < Math.min(N, base + 10_000); i++) reqs.push({ index: BigInt(i), entry: utf8.encode(`entry ${i}`), effect: { kind: 'auth-summary', failures: 0 } });
    s.appendBatch(reqs);
  }
}

t.test('leaf 0 replaced with its left edge: the same tree as appended first', async (t) => {
  const dir = tempDir(t);
  const staged = openSqliteStore(join(dir, 'staged.sqlite'));
  const plain = openSqliteStore(join(dir, 'plain.sqlite'));
  t.teardown(() => (staged.close(), plain.close()));
  fill(staged, new Uint8Array(0));
  fill(plain, REAL);
  const sizes = [1n, 2n, 255n, 256n, 257n, 65_536n, 65_537n, BigInt(N)];
  t.not(toHex(rootAt(staged, BigInt(N))), toHex(rootAt(plain, BigInt(N))), 'with the placeholder, the roots differ');
  staged.replaceLeafZero(REAL);
  t.same(staged.getEntry(0n), REAL, 'leaf 0 is the real entry');
  for (const level of [8, 16]) t.equal(toHex(staged.getNode(level, 0n)), toHex(plain.getNode(level, 0n)), `stored node (${level}, 0) rewritten`);
  t.same(sizes.map((n) => toHex(rootAt(staged, n))), sizes.map((n) => toHex(rootAt(plain, n))), 'MTH equal at every size tried');
  const root = rootAt(plain, BigInt(N));
  t.ok(verifyInclusion(leafHash(REAL), 0n, BigInt(N), inclusionProof(staged, 0n, BigInt(N)), root), 'inclusion proof of leaf 0 verifies');
  t.ok(verifyInclusion(leafHash(utf8.encode('entry 300')), 300n, BigInt(N), inclusionProof(staged, 300n, BigInt(N)), root), 'and of another leaf');
  staged.close();
  const again = openSqliteStore(join(dir, 'staged.sqlite'));
  t.teardown(() => again.close());
  t.equal(toHex(rootAt(again, BigInt(N))), toHex(root), 'reopened: the same root');
  again.appendBatch([{ index: BigInt(N), entry: utf8.encode('after'), effect: { kind: 'auth-summary', failures: 0 } }]);
  plain.appendBatch([{ index: BigInt(N), entry: utf8.encode('after'), effect: { kind: 'auth-summary', failures: 0 } }]);
  t.equal(toHex(rootAt(again, BigInt(N) + 1n)), toHex(rootAt(plain, BigInt(N) + 1n)), 'and appends go on from the same right edge');
});

t.test('leaf 0 cannot be replaced once a checkpoint is signed, nor in an empty log', async (t) => {
  const dir = tempDir(t);
  const s = openSqliteStore(join(dir, 'a.sqlite'));
  t.teardown(() => s.close());
  t.throws(() => s.replaceLeafZero(REAL), { code: 'STORE_MISMATCH' }, 'no entry 0');
  s.appendBatch([{ index: 0n, entry: new Uint8Array(0), effect: { kind: 'previous-log' } }]);
  s.putCheckpoint({ size: 1n, note: 'signed' });
  t.throws(() => s.replaceLeafZero(REAL), { code: 'STORE_MISMATCH' }, 'a signed tree never changes');
  t.same(s.getEntry(0n), new Uint8Array(0), 'leaf 0 unchanged');
});
