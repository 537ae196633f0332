import t from 'tap';
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fromBase64, fromHex, toHex } from '../bytes.js';
import { jsonFilesUnder, readJson } from '../test-helpers.js';
import { EMPTY_ROOT, leafHash } from './hashing.js';
import { MemoryTree, consistencyProof, inclusionProof } from './tree.js';
import { verifyConsistency, verifyInclusion } from './verify.js';

interface Ref {
  leaves_hex: string[];
  roots_by_size: string[];
  leaf_hashes: string[];
  inclusion: { leaf_index?: number; tree_size: number; leaf_hash?: string; root?: string; proof: string[] }[];
  consistency: { size1: number; size2: number; root1: string; root2: string; proof: string[] }[];
}
const ref = readJson<Ref>('merkle/rfc6962_reference_vectors.json');

function refTree(n: number): MemoryTree {
  const tree = new MemoryTree();
  for (const hex of ref.leaves_hex.slice(0, n)) tree.append(leafHash(fromHex(hex)));
  return tree;
}

t.test('RFC 6962 reference leaves: leaf hashes and the root of every size 0..8', async (t) => {
  ref.leaves_hex.forEach((hex, i) => t.equal(toHex(leafHash(fromHex(hex))), ref.leaf_hashes[i], `leaf ${i}`));
  t.equal(toHex(EMPTY_ROOT), ref.roots_by_size[0], 'empty root');
  const tree = refTree(8);
  for (let n = 1; n <= 8; n++) t.equal(toHex(tree.root(BigInt(n))), ref.roots_by_size[n], `root of size ${n}`);
});

t.test('RFC 6962 reference proofs: generated proofs equal the published ones, and verify', async (t) => {
  const tree = refTree(8);
  for (const c of ref.inclusion.filter((c) => c.leaf_index !== undefined && c.tree_size > 0)) {
    const idx = BigInt(c.leaf_index!);
    const proof = inclusionProof(tree, idx, BigInt(c.tree_size));
    t.same(proof.map(toHex), c.proof, `inclusion ${c.leaf_index} in ${c.tree_size}`);
    t.ok(verifyInclusion(fromHex(c.leaf_hash!), idx, c.tree_size, proof, fromHex(c.root!)));
  }
  for (const c of ref.consistency.filter((c) => c.size1 > 0 && c.size1 < c.size2)) {
    const proof = consistencyProof(tree, BigInt(c.size1), BigInt(c.size2));
    t.same(proof.map(toHex), c.proof, `consistency ${c.size1} -> ${c.size2}`);
    t.ok(verifyConsistency(c.size1, c.size2, proof, fromHex(c.root1), fromHex(c.root2)));
  }
});

interface InclusionCase { leafIdx: number; treeSize: number; root: string | null; leafHash: string | null; proof: string[] | null; desc: string; wantErr: boolean }
interface ConsistencyCase { size1: number; size2: number; root1: string | null; root2: string | null; proof: string[] | null; desc: string; wantErr: boolean }
const b64 = (s: string | null): Uint8Array => (s === null ? new Uint8Array(0) : fromBase64(s));
const label = (f: string): string => `${basename(dirname(f))}/${basename(f)}`;

t.test('transparency-dev testdata: every inclusion case', async (t) => {
  const files = jsonFilesUnder('merkle/inclusion');
  t.ok(files.length > 50, `${files.length} files`);
  for (const f of files) {
    const c = JSON.parse(readFileSync(f, 'utf8')) as InclusionCase;
    const ok = verifyInclusion(b64(c.leafHash), c.leafIdx, c.treeSize, (c.proof ?? []).map(b64), b64(c.root));
    t.equal(ok, !c.wantErr, `${label(f)}: ${c.desc}`);
  }
});

t.test('transparency-dev testdata: every consistency case', async (t) => {
  const files = jsonFilesUnder('merkle/consistency');
  t.ok(files.length > 50, `${files.length} files`);
  for (const f of files) {
    const c = JSON.parse(readFileSync(f, 'utf8')) as ConsistencyCase;
    const ok = verifyConsistency(c.size1, c.size2, (c.proof ?? []).map(b64), b64(c.root1), b64(c.root2));
    t.equal(ok, !c.wantErr, `${label(f)}: ${c.desc}`);
  }
});

t.test('generated proofs verify for every leaf and size pair of a 37-leaf tree; tampering fails', async (t) => {
  const tree = new MemoryTree();
  const leaves: Uint8Array[] = [];
  for (let i = 0; i < 37; i++) {
    leaves.push(leafHash(new Uint8Array([i, i >> 8])));
    tree.append(leaves[i]!);
  }
  let failures = 0;
  for (let n = 1n; n <= 37n; n++) {
    const root = tree.root(n);
    for (let i = 0n; i < n; i++) {
      const proof = inclusionProof(tree, i, n);
      if (!verifyInclusion(leaves[Number(i)]!, i, n, proof, root)) failures++;
      if (proof.length && verifyInclusion(leaves[Number(i)]!, i, n, proof.slice(1), root)) failures++;
      if (i > 0n && verifyInclusion(leaves[Number(i)]!, i - 1n, n, proof, root)) failures++;
    }
    for (let m = 1n; m < n; m++) {
      const proof = consistencyProof(tree, m, n);
      if (!verifyConsistency(m, n, proof, tree.root(m), root)) failures++;
      if (verifyConsistency(m, n, proof, tree.root(m), tree.root(n - 1n))) failures++;
    }
  }
  t.equal(failures, 0);
});

t.test('verifiers return false, never throw, on nonsense', async (t) => {
  const h = new Uint8Array(32);
  t.equal(verifyInclusion(h, -1, 5, [], h), false);
  t.equal(verifyInclusion(h, 0, 2n ** 64n, [], h), false);
  t.equal(verifyInclusion(h, 0.5, 5, [], h), false);
  t.equal(verifyInclusion(h, 0, 1, [new Uint8Array(3)], h), false);
  t.equal(verifyInclusion(null as unknown as Uint8Array, 0, 1, [], h), false);
  t.equal(verifyConsistency(0, 0, [], h, h), false);
  t.equal(verifyConsistency(3, 2, [h], h, h), false);
  t.equal(verifyConsistency(1, 2, null as unknown as Uint8Array[], h, h), false);
});
