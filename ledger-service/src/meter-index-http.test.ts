// The per-meter index over the query API (meter-index-http.ts), with a real meter: every answer checks out
// against the signed checkpoint, and bad parameters are 400s naming them.
import t from 'tap';
import {
  fromBase64, indexCommitment, indexLeafHash, indexRoot, meterLeafHash, nodeHash, openCheckpoint, parseVerifierKey, parseWireAnchor,
  parseWireChild, parseWireIndexLeaf, rootOfLeaves, verifyInclusion, verifyRange,
} from '@meterseal/protocol';
import { startTestLedger } from './testing/harness.js';

const M1 = { meterId: 'M-1', customerAccount: 'A-1' };
const M2 = { meterId: 'M-2', customerAccount: 'A-2' };

t.test('per-meter index queries', async (t) => {
  const { ledger, meter } = await startTestLedger(t, { meters: [M1, M2] });
  const vkey = parseVerifierKey(ledger.verifierKey);
  const json = async (path: string) => {
    const r = await fetch(`${ledger.httpUrl}${path}`);
    return { status: r.status, body: (await r.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
  };
  const m1 = await meter(M1);
  await m1.onboard(1n);
  const m2 = await meter(M2);
  await m2.onboard(1n);
  for (let s = 1n; s <= 70n; s++) await m1.anchor(s === 40n ? 71n : s); // seq 71 early, 40 never: a gap
  for (let s = 1n; s <= 3n; s++) await m2.anchor(s);

  const page = await json('/v1/index');
  t.equal(page.status, 200);
  const cp = openCheckpoint(page.body.checkpoint as string, vkey, ledger.origin);
  const commitment = indexCommitment(cp);
  const leaves = (page.body.leaves as unknown[]).map(parseWireIndexLeaf);
  t.same(leaves.map((l) => [l.meterId, l.treeSize, l.keyEventsSize]), [['M-1', 70n, 1n], ['M-2', 3n, 1n]]);
  t.equal(commitment.meters, 2n);
  t.same(indexRoot(leaves), commitment.root, 'the served leaves hash to the index root the signed checkpoint commits');

  const proof = await json('/v1/index/proof?meter=M-2');
  const leaf = parseWireIndexLeaf(proof.body.leaf);
  t.ok(verifyInclusion(indexLeafHash(leaf), proof.body.position as number, 2, (proof.body.proof as string[]).map((p) => fromBase64(p)), commitment.root), 'index leaf inclusion proof');
  t.match(await json('/v1/index/proof?meter=M-9'), { status: 404 });

  const [l1] = leaves;
  const node = await json('/v1/meter/node?meter=M-1&size=70&start=0&end=70');
  const [left, right] = (node.body.children as unknown[]).map(parseWireChild);
  t.same(nodeHash(left!.hash, right!.hash), l1!.treeRoot, "the root's children hash to the proven meter root");
  t.match([left, right], [{ start: 0n, end: 64n, firstSeq: 1n, lastSeq: 65n }, { start: 64n, end: 70n, firstSeq: 66n, lastSeq: 71n }], 'seq order, the gap at 40 skipped');
  const small = await json('/v1/meter/node?meter=M-1&size=70&start=64&end=70');
  const anchors = (small.body.leaves as unknown[]).map((a) => parseWireAnchor(a, 'M-1'));
  t.same(rootOfLeaves(anchors.map(meterLeafHash)), right!.hash, 'a small node comes as leaves that hash to it');

  const range = await json('/v1/meter/range?meter=M-1&size=70&start=5&end=45');
  const rangeLeaves = (range.body.leaves as unknown[]).map((a) => meterLeafHash(parseWireAnchor(a, 'M-1')));
  t.ok(verifyRange(rangeLeaves, 5n, 70n, (range.body.proof as string[]).map((p) => fromBase64(p)), l1!.treeRoot), 'a range of readings proven against the meter root');

  for (const bad of ['/v1/meter/node?meter=M-1&size=71&start=0&end=71', '/v1/meter/node?meter=M-1&size=70&start=1&end=9', '/v1/index?count=0', '/v1/index?x=1', '/v1/meter/range?meter=M-1&size=70&start=0&end=0', '/v1/meter/node?meter=a%20b&size=1&start=0&end=1']) {
    const r = await json(bad);
    t.equal(r.status, 400, bad);
    t.equal(r.body.error?.code, 'BAD_PARAMETER');
  }
});
