// compareMeter against a hostile ledger: every node and leaf list must hash to its proven parent, or the run
// fails with LEDGER_PROOF_FAILED; lies about seq bounds cannot make a divergence disappear.
import t from 'tap';
import {
  meterLeafHash, meterNodeAnswer, parseWireAnchor, parseWireChild, rootOfLeaves, type Anchor, type MeterIndexLeaf, EMPTY_ROOT,
} from '@meterseal/protocol';
import type { LedgerClient, MeterNode } from './ledger-client.js';
import { compareMeter, type CollectedLeaf } from './reconcile-tree.js';

const anchors: Anchor[] = Array.from({ length: 200 }, (_, i) => ({ meterId: 'M', seq: BigInt(i + 1), keyId: new Uint8Array(8).fill(1), readingHash: new Uint8Array(32).fill(i % 251) }));
const proven: MeterIndexLeaf = { meterId: 'M', treeSize: 200n, treeRoot: rootOfLeaves(anchors.map(meterLeafHash)), keyEventsSize: 0n, keyEventsRoot: EMPTY_ROOT };
const mine = (list: Anchor[]): CollectedLeaf[] => list.map((a) => ({ seq: a.seq, readingHash: a.readingHash, leafHash: meterLeafHash(a) }));

/** The honest answers, passed through `alter` (the adversary). */
function ledger(alter: (n: MeterNode, start: bigint, end: bigint) => MeterNode = (n) => n): LedgerClient {
  const source = { meterLeaves: (_: string, s: bigint, c: number) => anchors.slice(Number(s), Number(s) + c) };
  return {
    async meterNode(meterId: string, size: bigint, start: bigint, end: bigint): Promise<MeterNode> {
      const a = meterNodeAnswer(source, meterId, size, start, end);
      const n: MeterNode = 'leaves' in a ? { leaves: a.leaves.map((w) => parseWireAnchor(w, meterId)) } : { children: [parseWireChild(a.children[0]), parseWireChild(a.children[1])] };
      return alter(n, start, end);
    },
  } as unknown as LedgerClient;
}

t.test('honest ledger: one edited reading found in log2(n/64) + 1 requests', async (t) => {
  const list = anchors.slice();
  list[150] = { ...list[150]!, readingHash: new Uint8Array(32).fill(0xee) };
  const r = await compareMeter('M', mine(list), proven, ledger());
  t.same(r.verdicts.filter((v) => v.kind !== 'matched').map((v) => [v.kind, v.seq]), [['tampered', 151n]]);
  t.equal(r.requests, 3, '[0,200) → [128,200) → [128,192) leaves');
  t.equal(r.matchedInBulk + r.verdicts.filter((v) => v.kind === 'matched').length, 199);
});

t.test('a forged child hash, forged leaves, or a forged split fail the run', async (t) => {
  const list = anchors.slice(0, 199); // one missing: forces a walk
  const forgedHash = ledger((n) => ('children' in n ? { children: [{ ...n.children[0], hash: new Uint8Array(32) }, n.children[1]] } : n));
  await t.rejects(compareMeter('M', mine(list), proven, forgedHash), { code: 'LEDGER_PROOF_FAILED', message: /do not hash to the proven node/ });
  const forgedLeaf = ledger((n) => ('leaves' in n ? { leaves: n.leaves.map((a, i) => (i === 0 ? { ...a, readingHash: new Uint8Array(32) } : a)) } : n));
  await t.rejects(compareMeter('M', mine(list), proven, forgedLeaf), { code: 'LEDGER_PROOF_FAILED', message: /leaves of node/ });
  const forgedSplit = ledger((n) => ('children' in n ? { children: [{ ...n.children[0], end: n.children[0].end - 1n }, { ...n.children[1], start: n.children[1].start - 1n }] } : n));
  await t.rejects(compareMeter('M', mine(list), proven, forgedSplit), { code: 'LEDGER_PROOF_FAILED', message: /split as/ });
});

t.test('lying seq bounds cannot hide a divergence: the edited reading is still found', async (t) => {
  const list = anchors.slice();
  list[10] = { ...list[10]!, readingHash: new Uint8Array(32).fill(0xee) };
  // claim the left child covers fewer seqs than it does: the collector's readings no longer line up with it
  const liar = ledger((n) => ('children' in n ? { children: [{ ...n.children[0], lastSeq: n.children[0].lastSeq - 5n }, n.children[1]] } : n));
  const r = await compareMeter('M', mine(list), proven, liar);
  t.same(r.verdicts.filter((v) => v.kind !== 'matched').map((v) => [v.kind, v.seq]), [['tampered', 11n]]);
});
