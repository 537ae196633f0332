// Per-meter index conformance (docs/ledger.md), part of storeConformance (testing/store-conformance.ts):
// every LedgerStore must keep each meter's tree (anchors in seq order) and key events in its appends'
// transactions, exactly as the protocol's reference computes them.
import type { Test } from 'tap';
import { compareMeterIds, keyEventsRoot, meterLeafHash, rootOfLeaves, utf8, type KeyEvent } from '@meterseal/protocol';
import type { AnchorRow, AppendEffect, AppendRequest, LedgerStore } from './store.js';

type Open = () => LedgerStore;
type Reopen = (s: LedgerStore) => LedgerStore;
type MakeAnchor = (meterId: string, seq: bigint, fill?: number) => Omit<AppendRequest, 'index'>;

const U63 = 1n << 63n;
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

function append(s: LedgerStore, reqs: Omit<AppendRequest, 'index'>[]): void {
  s.appendBatch(reqs.map((r, i) => ({ ...r, index: s.treeSize() + BigInt(i) })));
}

/** The reference: each meter's anchors sorted by seq, hashed as meter-tree leaves. */
function expectedRoot(anchors: Omit<AnchorRow, 'leafIndex'>[]): Uint8Array {
  return rootOfLeaves([...anchors].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0)).map(meterLeafHash));
}

export function meterIndexConformance(t: Test, open: Open, makeAnchor: MakeAnchor, reopen?: Reopen): void {
  const anchorOf = (r: Omit<AppendRequest, 'index'>): Omit<AnchorRow, 'leafIndex'> => (r.effect as Extract<AppendEffect, { kind: 'anchor' }>).anchor;

  t.test('per-meter index: one leaf per meter sorted by id, each meter tree over its anchors in seq order', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    t.same(s.meterIndexLeaves(), [], 'empty');
    const reqs = Array.from({ length: 300 }, (_, i) => makeAnchor(['M-b', 'M-a', 'M-c'][i % 3]!, BigInt(1 + Math.floor(i / 3)), i % 200));
    append(s, reqs.slice(0, 7));
    append(s, reqs.slice(7, 200));
    for (const r of reqs.slice(200)) append(s, [r]);
    append(s, [makeAnchor('M-a', U63 + 1n, 5)]); // a u64 seq above 2^63 sorts last
    const leaves = s.meterIndexLeaves();
    t.same(leaves.map((l) => l.meterId), ['M-a', 'M-b', 'M-c']);
    t.same(leaves.map((l) => l.meterId), leaves.map((l) => l.meterId).sort(compareMeterIds));
    const byMeter = (id: string) => [...reqs.filter((r) => anchorOf(r).meterId === id).map(anchorOf), ...(id === 'M-a' ? [anchorOf(makeAnchor('M-a', U63 + 1n, 5))] : [])];
    for (const l of leaves) {
      const mine = byMeter(l.meterId);
      t.equal(l.treeSize, BigInt(mine.length), `${l.meterId} size`);
      t.same(l.treeRoot, expectedRoot(mine), `${l.meterId} root`);
      t.equal(l.keyEventsSize, 0n);
    }
    const at = s.meterLeaves('M-a', 99n, 5);
    t.same(at.map((a) => a.seq), [100n, U63 + 1n], 'positions in seq order, clipped at the end');
    t.same(s.meterLeaves('nobody', 0n, 3), []);
  });

  t.test('per-meter index: a late (lower) seq is placed in seq order; a failed batch changes nothing', async (t) => {
    let s = open();
    t.teardown(() => s.close());
    const rs = [makeAnchor('M', 1n, 1), makeAnchor('M', 2n, 2), makeAnchor('M', 5n, 5), makeAnchor('M', 4n, 4)];
    append(s, rs.slice(0, 3));
    append(s, rs.slice(3));
    t.same(s.meterIndexLeaves()[0]!.treeRoot, expectedRoot(rs.map(anchorOf)), 'seq 4 after 5: the root is over 1, 2, 4, 5');
    t.same(s.meterLeaves('M', 0n, 4).map((a) => a.seq), [1n, 2n, 4n, 5n]);
    const before = s.meterIndexLeaves();
    t.throws(() => append(s, [makeAnchor('M', 6n, 6), makeAnchor('N', 1n, 1), makeAnchor('M', 1n, 9)]), 'a duplicate inside fails the batch');
    t.same(s.meterIndexLeaves(), before, 'index unchanged after the rollback');
    append(s, [makeAnchor('M', 6n, 6)]);
    t.same(s.meterIndexLeaves()[0]!.treeRoot, expectedRoot([...rs, makeAnchor('M', 6n, 6)].map(anchorOf)));
    if (reopen) {
      const leaves = s.meterIndexLeaves();
      s = reopen(s);
      t.same(s.meterIndexLeaves(), leaves, 'the same index after a reopen');
      append(s, [makeAnchor('M', 7n, 7)]);
      t.same(s.meterIndexLeaves()[0]!.treeRoot, expectedRoot([...rs, makeAnchor('M', 6n, 6), makeAnchor('M', 7n, 7)].map(anchorOf)), 'and it grows on');
    }
  });

  t.test('per-meter index: registrations without anchors and key events (bindings) are committed', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    const reg: AppendEffect = {
      kind: 'registration',
      meter: { meterId: 'K-1', identityPublicKey: bytes(32, 1), registeredAtMs: 1, certificate: utf8.encode('c'), certificateSignature: bytes(64, 2) },
    };
    append(s, [{ entry: utf8.encode('reg'), effect: reg }]);
    t.same(s.meterIndexLeaves().map((l) => [l.meterId, l.treeSize, l.keyEventsSize]), [['K-1', 0n, 0n]]);
    append(s, [{ entry: utf8.encode('auth'), effect: { kind: 'auth', meterId: 'K-1', passed: true, atMs: 5 } }]);
    const bindAt = s.treeSize();
    append(s, [{ entry: utf8.encode('bind'), effect: { kind: 'binding', binding: { meterId: 'K-1', keyId: bytes(8, 3), sessionPublicKey: bytes(32, 3), firstSeq: 1n }, authLeafIndex: 1n } }]);
    const events: KeyEvent[] = [{ kind: 'binding', meterId: 'K-1', keyId: bytes(8, 3), sessionPublicKey: bytes(32, 3), firstSeq: 1n, leafIndex: bindAt }];
    const [leaf] = s.meterIndexLeaves();
    t.equal(leaf!.keyEventsSize, 1n);
    t.same(leaf!.keyEventsRoot, keyEventsRoot(events));
    const revokedAt = s.treeSize();
    append(s, [{ entry: utf8.encode('revoke'), effect: { kind: 'meter-event', event: { meterId: 'K-1', event: 'revoked', identityKeyId: bytes(8, 1), detail: 'stolen', atMs: 9 } } }]);
    events.push({ kind: 'operator', meterId: 'K-1', event: 'revoked', identityKeyId: bytes(8, 1), leafIndex: revokedAt });
    const [after] = s.meterIndexLeaves();
    t.equal(after!.keyEventsSize, 2n, 'a revocation is a key event');
    t.same(after!.keyEventsRoot, keyEventsRoot(events));
  });
}
