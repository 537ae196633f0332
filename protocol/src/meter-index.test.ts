import t from 'tap';
import { signCheckpoint, openCheckpoint } from './checkpoint.js';
import { leafHash } from './merkle/hashing.js';
import { MemoryTree, inclusionProof } from './merkle/tree.js';
import { rootOfLeaves, verifyRange } from './merkle/range.js';
import { verifyInclusion } from './merkle/verify.js';
import {
  decodeIndexLeaf, encodeIndexLeaf, formatIndexExtension, indexCommitment, indexLeafHash, indexRoot, meterLeafHash, meterLeafHasher, type MeterIndexLeaf,
} from './meter-index.js';
import { indexInclusionProof, meterNodeAnswer, meterRangeAnswer, parseWireAnchor, parseWireChild, parseWireIndexLeaf, wireIndexLeaf } from './meter-index-api.js';
import { fromBase64 } from './bytes.js';
import { generateKeyPair } from './ed25519.js';
import { encodeVerifierKey, noteSigner, parseVerifierKey } from './note.js';

const anchors = Array.from({ length: 150 }, (_, i) => ({ meterId: 'M-1', seq: BigInt(10 + i * 2), keyId: new Uint8Array(8).fill(1), readingHash: new Uint8Array(32).fill(i % 250) }));
const source = { meterLeaves: (_id: string, start: bigint, count: number) => anchors.slice(Number(start), Number(start) + count) };
const leaf = (meterId: string, n: number): MeterIndexLeaf => ({ meterId, treeSize: BigInt(n), treeRoot: new Uint8Array(32).fill(n), keyEventsSize: 1n, keyEventsRoot: new Uint8Array(32).fill(n + 1) });

t.test('index leaves encode, decode and travel; the index root is the RFC 9162 root of their leaf hashes', async (t) => {
  const leaves = [leaf('A', 1), leaf('B', 2), leaf('C-3', 3)];
  for (const l of leaves) {
    t.same(decodeIndexLeaf(encodeIndexLeaf(l)), l);
    t.same(parseWireIndexLeaf(JSON.parse(JSON.stringify(wireIndexLeaf(l)))), l);
  }
  const tree = new MemoryTree();
  for (const l of leaves) tree.append(indexLeafHash(l));
  t.same(indexRoot(leaves), tree.root());
  t.throws(() => indexRoot([leaves[1]!, leaves[0]!]), { code: 'INDEX_ORDER' });
  t.throws(() => decodeIndexLeaf(encodeIndexLeaf(leaves[0]!).subarray(1)), 'truncated leaf refused');
  t.throws(() => parseWireIndexLeaf({ ...wireIndexLeaf(leaves[0]!), treeRoot: 'AAAA' }), { code: 'BAD_ANSWER' });
  t.throws(() => parseWireIndexLeaf({ ...wireIndexLeaf(leaves[0]!), meterId: 'a b' }), { code: 'BAD_ANSWER' });
  const hashes = leaves.map(indexLeafHash);
  for (let i = 0; i < leaves.length; i++) t.ok(verifyInclusion(hashes[i]!, i, leaves.length, indexInclusionProof(hashes, i), tree.root()), `inclusion ${i}`);
  t.same(indexInclusionProof(hashes, 1), inclusionProof(tree, 1n, 3n));
});

t.test('the checkpoint extension line commits the index; malformed ones are refused', async (t) => {
  const kp = generateKeyPair();
  const key = { signer: noteSigner('example.org/log', kp.secretKey), verifier: parseVerifierKey(encodeVerifierKey('example.org/log', kp.publicKey)) };
  const root = indexRoot([leaf('A', 1)]);
  const note = signCheckpoint({ origin: 'example.org/log', size: 5n, root: new Uint8Array(32), extensions: [formatIndexExtension({ meters: 1n, root })] }, key.signer);
  const cp = openCheckpoint(note, key.verifier);
  t.same(indexCommitment(cp), { meters: 1n, root });
  t.throws(() => indexCommitment({ ...cp, extensions: [] }), { code: 'INDEX_MISSING' });
  t.throws(() => indexCommitment({ ...cp, extensions: ['meterseal-index/v1 01 x'] }), { code: 'BAD_CHECKPOINT' });
  t.throws(() => indexCommitment({ ...cp, extensions: ['meterseal-index/v1 1 AAAA'] }), { code: 'BAD_CHECKPOINT' });
  t.throws(() => indexCommitment({ ...cp, extensions: [cp.extensions[0]!, cp.extensions[0]!] }), { code: 'BAD_CHECKPOINT' });
});

t.test('meter tree nodes: children hash to the parent, small nodes give leaves that hash to it; ranges verify', async (t) => {
  const hashes = anchors.map(meterLeafHash);
  const size = BigInt(anchors.length);
  const root = rootOfLeaves(hashes);
  const top = meterNodeAnswer(source, 'M-1', size, 0n, size);
  if (!('children' in top)) throw new Error('expected children');
  const [l, r] = top.children.map(parseWireChild);
  t.same(l!.hash, rootOfLeaves(hashes, 0, 128));
  t.same(r!.hash, rootOfLeaves(hashes, 128, 150));
  t.equal(l!.firstSeq, 10n);
  t.equal(r!.lastSeq, anchors[149]!.seq);
  const small = meterNodeAnswer(source, 'M-1', size, 128n, 150n);
  if (!('leaves' in small)) throw new Error('expected leaves');
  t.same(rootOfLeaves(small.leaves.map((w) => meterLeafHash(parseWireAnchor(w, 'M-1')))), r!.hash);
  t.throws(() => meterNodeAnswer(source, 'M-1', size, 1n, 5n), { code: 'MERKLE_RANGE' }, 'not a node');
  const range = meterRangeAnswer(source, 'M-1', size, 17n, 40n);
  t.ok(verifyRange(range.leaves.map((w) => meterLeafHash(parseWireAnchor(w, 'M-1'))), 17n, size, range.proof.map((p) => fromBase64(p)), root));
  t.notOk(verifyRange(range.leaves.map((w) => meterLeafHash(parseWireAnchor(w, 'M-1'))), 17n, size, range.proof.map((p) => fromBase64(p)), hashes[0]!));
  t.throws(() => parseWireAnchor({ seq: '01', keyId: '00', readingHash: '' }, 'M-1'), { code: 'BAD_ANSWER' });
});

t.test('meterLeafHasher hashes exactly what meterLeafHash does, for any seq up to 2^64 - 1', async (t) => {
  const h = meterLeafHasher('M-long.id_42');
  for (const seq of [0n, 1n, 255n, 1n << 32n, (1n << 63n) + 7n, (1n << 64n) - 1n]) {
    const a = { meterId: 'M-long.id_42', seq, keyId: new Uint8Array(8).fill(Number(seq % 200n)), readingHash: new Uint8Array(32).fill(3) };
    t.same(h(a.seq, a.keyId, a.readingHash), meterLeafHash(a), `seq ${seq}`);
  }
  t.throws(() => h(1n, new Uint8Array(7), new Uint8Array(32)), { code: 'BAD_LENGTH' });
});
