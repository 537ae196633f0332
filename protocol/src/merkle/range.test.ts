import t from 'tap';
import { leafHash } from './hashing.js';
import { EMPTY_EDGE, decodeEdge, edgeAppend, edgeRoot, encodeEdge, isNode, rangeProof, rootOfLeaves, splitNode, verifyRange } from './range.js';
import { MemoryTree, subtreeRoot } from './tree.js';

const leaves = Array.from({ length: 45 }, (_, i) => leafHash(new Uint8Array([i, 7])));

t.test('rootOfLeaves and the compact edge give the RFC 9162 root of every size (checked against MemoryTree)', async (t) => {
  const tree = new MemoryTree();
  let edge = EMPTY_EDGE;
  t.same(edgeRoot(edge), tree.root(0n));
  for (let n = 1; n <= leaves.length; n++) {
    tree.append(leaves[n - 1]!);
    edge = edgeAppend(edge, leaves[n - 1]!);
    t.same(rootOfLeaves(leaves.slice(0, n)), tree.root(), `rootOfLeaves ${n}`);
    t.same(edgeRoot(edge), tree.root(), `edge root ${n}`);
    t.same(decodeEdge(edge.size, encodeEdge(edge)), edge, `edge round trip ${n}`);
  }
  t.throws(() => decodeEdge(3n, new Uint8Array(32)), { code: 'MERKLE_RANGE' }, 'a 3-leaf edge has two hashes');
});

t.test('isNode: exactly the ranges RFC 9162 recursion visits', async (t) => {
  const size = 13n;
  const visited = new Set<string>();
  const walk = (lo: bigint, hi: bigint): void => {
    visited.add(`${lo},${hi}`);
    if (hi - lo > 1n) {
      const mid = splitNode(lo, hi);
      walk(lo, mid);
      walk(mid, hi);
    }
  };
  walk(0n, size);
  for (let a = 0n; a <= size; a++) for (let b = 0n; b <= size + 1n; b++) t.equal(isNode(a, b, size), visited.has(`${a},${b}`), `[${a},${b})`);
});

t.test('range proofs verify for every range of a 23-leaf tree; altered leaves, proofs or positions fail', async (t) => {
  const tree = new MemoryTree();
  for (const l of leaves.slice(0, 23)) tree.append(l);
  const size = 23n;
  const root = tree.root();
  const nodeRoot = (lo: bigint, hi: bigint): Uint8Array => subtreeRoot(tree, lo, hi);
  let failures = 0;
  for (let a = 0n; a < size; a++) {
    for (let b = a + 1n; b <= size; b++) {
      const proof = rangeProof(nodeRoot, a, b, size);
      const ls = leaves.slice(Number(a), Number(b));
      if (!verifyRange(ls, a, size, proof, root)) failures++;
      const bad = ls.slice();
      bad[bad.length - 1] = leafHash(new Uint8Array([99]));
      if (verifyRange(bad, a, size, proof, root)) failures++;
      if (proof.length > 0 && verifyRange(ls, a, size, proof.slice(1), root)) failures++;
      if (a > 0n && verifyRange(ls, a - 1n, size, proof, root)) failures++;
    }
  }
  t.equal(failures, 0);
  t.equal(verifyRange([], 0n, 1n, [], root), false, 'empty range');
  t.equal(verifyRange([new Uint8Array(3)], 0n, 1n, [], root), false, 'bad hash length');
});
