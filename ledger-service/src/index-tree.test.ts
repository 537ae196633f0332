// IndexTree against protocol's indexRoot / indexInclusionProof over the full sorted leaf list, after every step of
// random sequences of leaf changes, new meters and removed ones; and every earlier tree still as it was.
import t, { type Test } from 'tap';
import { bytesEqual, compareMeterIds, indexInclusionProof, indexLeafHash, indexRoot, type MeterIndexLeaf } from '@meterseal/protocol';
import { IndexTree, IndexTreeBuilder } from './index-tree.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const leaf = (meterId: string, v: number): MeterIndexLeaf => ({
  meterId, treeSize: BigInt(v), treeRoot: new Uint8Array(32).fill(v & 0xff), keyEventsSize: BigInt(v % 3), keyEventsRoot: new Uint8Array(32).fill((v * 7) & 0xff),
});

function sorted(m: Map<string, MeterIndexLeaf>): MeterIndexLeaf[] {
  return [...m.values()].sort((a, b) => compareMeterIds(a.meterId, b.meterId));
}

/** Every observable of the tree equals what protocol computes from the full list. */
function check(t: Test, tree: IndexTree, list: MeterIndexLeaf[], what: string): void {
  const hashes = list.map(indexLeafHash);
  const ok = tree.count === list.length
    && bytesEqual(tree.root(), indexRoot(list))
    && tree.leaves().every((l, i) => l === list[i] || (l.meterId === list[i]!.meterId && bytesEqual(indexLeafHash(l), hashes[i]!)))
    && list.every((l, i) => tree.position(l.meterId) === i && bytesEqual(tree.leafHash(i), hashes[i]!))
    && list.every((_, i) => {
      const a = tree.proof(i);
      const b = indexInclusionProof(hashes, i);
      return a.length === b.length && a.every((h, j) => bytesEqual(h, b[j]!));
    });
  if (!ok) t.fail(`${what}: the tree differs from protocol's index over ${list.length} leaves`);
}

t.test('random updates, insertions and removals: root, leaves, positions and proofs equal protocol over the full list', async (t) => {
  const next = rng(9162);
  for (let run = 0; run < 25; run++) {
    const live = new Map<string, MeterIndexLeaf>();
    const start = Math.floor(next() * 70);
    for (let i = 0; i < start; i++) live.set(`M-${Math.floor(next() * 500)}`, leaf(`M-${i}`, i));
    for (const [id, l] of live) live.set(id, { ...l, meterId: id });
    let tree = IndexTree.of(sorted(live));
    check(t, tree, sorted(live), `run ${run} start`);
    const kept: Array<[IndexTree, MeterIndexLeaf[]]> = [[tree, sorted(live)]];
    for (let step = 0; step < 12; step++) {
      const changed = new Map<string, MeterIndexLeaf | null>();
      const ids = [...live.keys()];
      const edits = Math.floor(next() * 6);
      for (let e = 0; e < edits; e++) {
        const r = next();
        if (r < 0.6 && ids.length > 0) {
          const id = ids[Math.floor(next() * ids.length)]!;
          changed.set(id, leaf(id, Math.floor(next() * 1000)));
        } else if (r < 0.9) {
          const id = `M-${Math.floor(next() * 500)}`;
          changed.set(id, leaf(id, Math.floor(next() * 1000)));
        } else if (ids.length > 0) changed.set(ids[Math.floor(next() * ids.length)]!, null);
        else changed.set(`M-${Math.floor(next() * 500)}`, null); // not in the index: nothing to remove
      }
      for (const [id, l] of changed) (l ? live.set(id, l) : live.delete(id));
      tree = tree.update(changed);
      check(t, tree, sorted(live), `run ${run} step ${step}`);
      kept.push([tree, sorted(live)]);
    }
    for (const [i, [old, list]] of kept.entries()) check(t, old, list, `run ${run}: the tree of step ${i} after later updates`);
  }
  t.pass('every step and every kept tree matched');
});

t.test('a changed leaf alone costs a path: the other leaves are the same objects', async (t) => {
  const list = Array.from({ length: 1000 }, (_, i) => leaf(`M-${String(i).padStart(4, '0')}`, i));
  const a = IndexTree.of(list);
  const b = a.update(new Map([['M-0500', leaf('M-0500', 9999)]]));
  t.notSame(b.root(), a.root());
  t.equal(b.leaves()[499], a.leaves()[499], 'a neighbour is shared');
  t.same(a.leaf(500), list[500], 'the earlier tree keeps the old leaf');
  t.same(b.root(), indexRoot(list.map((l, i) => (i === 500 ? leaf('M-0500', 9999) : l))));
  t.equal(a.position('M-0500x'), -1, 'an id not in the index');
  t.throws(() => a.proof(1000), { code: 'OUT_OF_RANGE' });
  t.throws(() => IndexTree.of([list[1]!, list[0]!]), { code: 'STORE_CORRUPT' }, 'unsorted leaves are refused');
  t.same(IndexTree.EMPTY.root(), indexRoot([]), 'the empty tree');
});

t.test('IndexTreeBuilder: leaves pushed one at a time in id order give IndexTree.of\'s tree, then update like it; out of order is refused', async (t) => {
  for (const n of [0, 1, 2, 3, 5, 8, 13, 64, 100, 257]) {
    const list = Array.from({ length: n }, (_, i) => leaf(`M-${String(i).padStart(4, '0')}`, i));
    const b = new IndexTreeBuilder();
    for (const l of list) b.push(l);
    const tree = b.tree();
    check(t, tree, list, `${n} pushed`);
    t.equal(tree.count, n);
    if (n > 2) {
      const changed = new Map([[list[1]!.meterId, leaf(list[1]!.meterId, 999)], [`M-${String(n).padStart(4, '0')}`, leaf(`M-${String(n).padStart(4, '0')}`, 5)]]);
      const after = list.map((l) => changed.get(l.meterId) ?? l).concat([changed.get(`M-${String(n).padStart(4, '0')}`)!]);
      check(t, tree.update(changed), after, `${n} pushed, then updated`);
    }
  }
  const b = new IndexTreeBuilder();
  b.push(leaf('M-2', 1));
  t.throws(() => b.push(leaf('M-1', 1)), { code: 'STORE_CORRUPT' }, 'a leaf before the last pushed one');
  t.throws(() => b.push(leaf('M-2', 2)), { code: 'STORE_CORRUPT' }, 'the same id twice');
});
