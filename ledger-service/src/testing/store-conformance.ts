// What every LedgerStore backend must do, as tap subtests: run it against a new backend (PostgreSQL,
// later) with `storeConformance(t, () => openMyStore(), (s) => reopenMyStore(s))`.
import type { Test } from 'tap';
import { MemoryTree, encodeAnchor, encodeSigned, leafHash, rootAt, utf8 } from '@meterseal/protocol';
import type { AnchorRow, AppendEffect, AppendRequest, LedgerStore } from '../store.js';
import { meterIndexConformance } from '../meter-index-conformance.js';

type Open = () => LedgerStore;
type Reopen = (s: LedgerStore) => LedgerStore;

const U63 = 1n << 63n;
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

/** Appends `entry` with `effect` the way LedgerLog does; returns its index. */
export function appendEntry(s: LedgerStore, entry: Uint8Array, effect: AppendEffect): bigint {
  const index = s.treeSize();
  s.append({ index, entry, effect });
  return index;
}

/** An anchor effect and its entry: the signed anchor it describes (the signature is only filler here). */
export function anchorAppend(meterId: string, seq: bigint, fill = 3, keyId = bytes(8, 4)): Omit<AppendRequest, 'index'> {
  const anchor: Omit<AnchorRow, 'leafIndex'> = { meterId, seq, readingHash: bytes(32, fill), keyId };
  return { entry: encodeSigned(encodeAnchor(anchor), bytes(64, fill + 1)), effect: { kind: 'anchor', anchor } };
}

function appendAnchor(s: LedgerStore, meterId: string, seq: bigint, fill = 3, keyId = bytes(8, 4)): bigint {
  const a = anchorAppend(meterId, seq, fill, keyId);
  return appendEntry(s, a.entry, a.effect);
}

const authEffect = (meterId: string, passed: boolean, atMs = 1000): AppendEffect => ({ kind: 'auth', meterId, passed, atMs });
const meterEffect = (meterId: string, atMs = 1000): AppendEffect => ({
  kind: 'registration',
  meter: { meterId, identityPublicKey: bytes(32, 1), registeredAtMs: atMs, certificate: utf8.encode(`cert ${meterId}`), certificateSignature: bytes(64, 2) },
});
const bindingEffect = (meterId: string, firstSeq: bigint, keyFill: number, authLeafIndex: bigint): AppendEffect => ({
  kind: 'binding',
  binding: { meterId, keyId: bytes(8, keyFill), sessionPublicKey: bytes(32, keyFill), firstSeq },
  authLeafIndex,
});

export function storeConformance(t: Test, open: Open, reopen?: Reopen): void {
  meterIndexConformance(t, open, (meterId, seq, fill) => anchorAppend(meterId, seq, fill), reopen); // docs/ledger.md
  t.test('an empty store', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    t.equal(s.treeSize(), 0n);
    t.equal(s.getEntry(0n), undefined);
    t.throws(() => s.getNode(0, 0n), { code: 'STORE_CORRUPT' });
    t.same(s.counters(), {});
    t.equal(s.getCheckpoint(), undefined);
    t.same(s.listMeters(), []);
    t.equal(s.maxAnchoredSeq('M'), undefined);
  });

  t.test('entries and Merkle nodes match the protocol reference tree', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    const ref = new MemoryTree();
    for (let i = 0; i < 37; i++) {
      const entry = utf8.encode(`entry ${i}`);
      t.equal(appendEntry(s, entry, authEffect('M', false)), BigInt(i));
      ref.append(leafHash(entry));
    }
    t.equal(s.treeSize(), 37n);
    for (let n = 1n; n <= 37n; n++) t.same(rootAt(s, n), ref.root(n), `root of size ${n}`);
    t.same(s.getEntry(36n), utf8.encode('entry 36'));
    t.ok(s.getEntry(0n) instanceof Uint8Array);
    t.equal(s.counters()['auth.failed'], 37);
  });

  t.test('ranges of nodes at one level and of entries, in order; a range past the tree is STORE_CORRUPT', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    const ref = new MemoryTree();
    for (let i = 0; i < 37; i++) {
      appendEntry(s, utf8.encode(`entry ${i}`), authEffect('M', false));
      ref.append(leafHash(utf8.encode(`entry ${i}`)));
    }
    t.same(s.getNodes(0, 0n, 37), Array.from({ length: 37 }, (_, i) => ref.getNode(0, BigInt(i))), 'all leaves');
    t.same(s.getNodes(1, 3n, 15), Array.from({ length: 15 }, (_, i) => ref.getNode(1, BigInt(i + 3))), 'level 1, 3..17');
    t.same(s.getNodes(5, 0n, 1), [ref.getNode(5, 0n)]);
    t.same(s.getNodes(0, 37n, 0), []);
    t.throws(() => s.getNodes(0, 30n, 8), { code: 'STORE_CORRUPT' }, 'leaf 37 does not exist');
    t.throws(() => s.getNodes(1, 18n, 1), { code: 'STORE_CORRUPT' }, 'node (1, 18) is not complete');
    t.throws(() => s.getNodes(6, 0n, 1), { code: 'STORE_CORRUPT' });
    t.same(s.getEntries(0n, 37).map((e) => utf8.decode(e)), Array.from({ length: 37 }, (_, i) => `entry ${i}`));
    t.same(s.getEntries(36n, 1), [utf8.encode('entry 36')]);
    t.same(s.getEntries(5n, 0), []);
    t.throws(() => s.getEntries(36n, 2), { code: 'STORE_CORRUPT' });
  });

  t.test('an append at any index but the tree size is refused and changes nothing', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    appendEntry(s, utf8.encode('a'), authEffect('M', false));
    t.throws(() => s.append({ index: 5n, entry: utf8.encode('b'), effect: authEffect('M', false) }), { code: 'STORE_APPEND_RACE' });
    t.equal(s.treeSize(), 1n);
    t.equal(s.getEntry(5n), undefined);
  });

  t.test('registrations, authentications and bindings', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    const reg = appendEntry(s, utf8.encode('reg'), meterEffect('M-1', 1234));
    const m = s.getMeter('M-1')!;
    t.equal(m.registrationIndex, reg);
    t.equal(m.registeredAtMs, 1234);
    t.same(m.certificate, utf8.encode('cert M-1'));
    t.equal(s.getMeter('M-2'), undefined);

    appendEntry(s, utf8.encode('fail'), authEffect('M-1', false, 2000));
    t.equal(s.unusedAuthPass('M-1', 0), undefined, 'a failed authentication is no pass');
    const pass = appendEntry(s, utf8.encode('pass'), authEffect('M-1', true, 3000));
    t.equal(s.unusedAuthPass('M-1', 3001), undefined, 'too old for the window');
    t.equal(s.unusedAuthPass('M-1', 3000)?.leafIndex, pass);

    const b1 = appendEntry(s, utf8.encode('bind1'), bindingEffect('M-1', 10n, 7, pass));
    t.equal(s.unusedAuthPass('M-1', 0), undefined, 'the pass is used up');
    t.throws(() => appendEntry(s, utf8.encode('bind again'), bindingEffect('M-1', 20n, 8, pass)), { code: 'STORE_APPEND_RACE' });
    t.equal(s.treeSize(), b1 + 1n, 'the refused binding left nothing behind');
    t.equal(s.getBinding('M-1', bytes(8, 8)), undefined);

    const pass2 = appendEntry(s, utf8.encode('pass2'), authEffect('M-1', true, 4000));
    appendEntry(s, utf8.encode('bind2'), bindingEffect('M-1', U63 + 5n, 9, pass2));
    t.equal(s.getBinding('M-1', bytes(8, 7))?.firstSeq, 10n);
    t.same(s.getBinding('M-1', bytes(8, 7))?.sessionPublicKey, bytes(32, 7));
    const first = s.getBinding('M-1', bytes(8, 7))!;
    const second = s.getBinding('M-1', bytes(8, 9))!;
    t.equal(s.nextBinding('M-1', first)?.firstSeq, U63 + 5n, 'u64 order above 2^63');
    t.equal(s.nextBinding('M-1', second), undefined);
    t.equal(s.latestBinding('M-1')?.firstSeq, U63 + 5n);

    const pass3 = appendEntry(s, utf8.encode('pass3'), authEffect('M-1', true, 5000));
    const third = appendEntry(s, utf8.encode('bind3'), bindingEffect('M-1', U63 + 5n, 10, pass3));
    t.equal(s.nextBinding('M-1', second)?.leafIndex, third, 'the same firstSeq: ordered by leaf index');
    t.equal(s.latestBinding('M-1')?.leafIndex, third);
    t.equal(s.nextBinding('M-1', s.getBinding('M-1', bytes(8, 10))!), undefined);
    t.same(s.listMeters(), [{ meterId: 'M-1', registeredAtMs: 1234, bindings: 3 }]);
    const c = s.counters();
    t.match(c, { registrations: 1, 'auth.passed': 3, 'auth.failed': 1, bindings: 3 });
  });

  t.test('operator events (issue 5): revocations and exchanges in log order; an exchange replaces the meter row', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    appendEntry(s, utf8.encode('reg'), meterEffect('M-1'));
    t.same(s.meterEvents('M-1'), []);
    const rev = appendEntry(s, utf8.encode('rev'), { kind: 'meter-event', event: { meterId: 'M-1', event: 'revoked', identityKeyId: bytes(8, 1), detail: 'stolen', atMs: 5 } });
    const ex = appendEntry(s, utf8.encode('ex'), {
      kind: 'meter-event', event: { meterId: 'M-1', event: 'exchange-approved', identityKeyId: bytes(8, 1), detail: 'op-1', newIdentityPublicKey: bytes(32, 9), atMs: 6 },
    });
    t.match(s.meterEvents('M-1'), [{ leafIndex: rev, event: 'revoked', detail: 'stolen' }, { leafIndex: ex, event: 'exchange-approved', newIdentityPublicKey: bytes(32, 9) }]);
    t.same(s.meterEvents('M-2'), []);
    const reg2 = appendEntry(s, utf8.encode('reg2'), { kind: 'registration', exchange: true, meter: { meterId: 'M-1', identityPublicKey: bytes(32, 9), registeredAtMs: 7, certificate: utf8.encode('cert2'), certificateSignature: bytes(64, 3) } });
    t.match(s.getMeter('M-1'), { registrationIndex: reg2, identityPublicKey: bytes(32, 9), registeredAtMs: 7 });
    appendEntry(s, utf8.encode('sum'), { kind: 'auth-summary', failures: 7 });
    t.match(s.counters(), { 'operator.revoked': 1, 'operator.exchange-approved': 1, 'auth.failed': 7, 'auth.summaries': 1, registrations: 2 });
  });

  t.test('anchors: unique per (meter, seq), ranges in u64 order', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    const seqs = [5n, 1n, U63 + 1n, 3n, U63 - 1n, (1n << 64n) - 1n];
    for (const seq of seqs) appendAnchor(s, 'M-1', seq);
    appendAnchor(s, 'M-2', 2n, 5, bytes(8, 6));
    t.throws(() => appendAnchor(s, 'M-1', 3n, 9));
    t.equal(s.treeSize(), 7n, 'the duplicate left nothing behind');
    t.equal(s.getAnchor('M-1', 3n)?.leafIndex, 3n);
    t.same(s.getAnchor('M-1', 3n)?.readingHash, bytes(32, 3));
    t.same(s.getAnchor('M-1', 3n)?.keyId, bytes(8, 4));
    t.same(s.getAnchor('M-2', 2n), { meterId: 'M-2', seq: 2n, leafIndex: 6n, readingHash: bytes(32, 5), keyId: bytes(8, 6) });
    t.same(s.getEntry(6n), anchorAppend('M-2', 2n, 5, bytes(8, 6)).entry, 'the entry is the signed anchor, byte for byte');
    t.equal(s.getAnchor('M-1', 2n), undefined);
    t.equal(s.getAnchor('M-3', 2n), undefined);
    t.same(s.anchorsInRange('M-3', 0n, 10n, 10), []);
    t.same(s.anchorsInRange('M-1', 0n, (1n << 64n) - 1n, 100).map((a) => a.seq), [1n, 3n, 5n, U63 - 1n, U63 + 1n, (1n << 64n) - 1n]);
    t.same(s.anchorsInRange('M-1', 2n, U63, 100).map((a) => a.seq), [3n, 5n, U63 - 1n]);
    t.same(s.anchorsInRange('M-1', 0n, 100n, 2).map((a) => a.seq), [1n, 3n], 'limit');
    t.equal(s.maxAnchoredSeq('M-1'), (1n << 64n) - 1n);
    t.equal(s.maxAnchoredSeq('M-2'), 2n);
    t.equal(s.counters().anchored, 7);
  });

  t.test('checkpoint, counters and meta', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    s.putCheckpoint({ size: 0n, note: 'zero' });
    s.putCheckpoint({ size: 3n, note: 'three' });
    t.same(s.getCheckpoint(), { size: 3n, note: 'three' });
    s.addCounters({ 'rejected.MALFORMED': 2, 'rejected.CONFLICT': 0 });
    s.addCounters({ 'rejected.MALFORMED': 3 });
    t.same(s.counters(), { 'rejected.MALFORMED': 5 });
    t.equal(s.getMeta('origin'), undefined);
    s.setMeta('origin', 'a');
    s.setMeta('origin', 'b');
    t.equal(s.getMeta('origin'), 'b');
  });

  t.test('a batch is one transaction: all of it, or nothing of it (a duplicate anchor inside fails it)', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    appendAnchor(s, 'M', 1n);
    const batch = (reqs: Omit<AppendRequest, 'index'>[]): void => s.appendBatch(reqs.map((r, i) => ({ ...r, index: s.treeSize() + BigInt(i) })));
    const before = { size: s.treeSize(), root: rootAt(s, 1n), counters: s.counters() };
    t.throws(() => batch([anchorAppend('M', 2n), { entry: utf8.encode('x'), effect: authEffect('M', true) }, anchorAppend('M', 1n, 9)]));
    t.equal(s.treeSize(), before.size, 'nothing appended');
    t.equal(s.getAnchor('M', 2n), undefined);
    t.equal(s.unusedAuthPass('M', 0), undefined);
    t.same(s.counters(), before.counters);
    t.throws(() => s.appendBatch([{ index: 1n, ...anchorAppend('M', 2n) }, { index: 3n, ...anchorAppend('M', 3n) }]), { code: 'STORE_APPEND_RACE' }, 'indexes must be consecutive');
    t.equal(s.treeSize(), 1n);

    const ref = new MemoryTree();
    ref.append(leafHash(anchorAppend('M', 1n).entry));
    const reqs = Array.from({ length: 300 }, (_, i) => anchorAppend(`M-${i % 7}`, BigInt(100 + i), i % 200, bytes(8, i % 3)));
    batch(reqs.slice(0, 1));
    batch(reqs.slice(1, 255));
    batch(reqs.slice(255));
    for (const r of reqs) ref.append(leafHash(r.entry));
    t.equal(s.treeSize(), 301n);
    t.same(s.getEntries(1n, 300), reqs.map((r) => r.entry));
    t.equal(s.counters().anchored, 301);
    const sizes = [1n, 2n, 255n, 256n, 257n, 300n, 301n];
    t.same(sizes.map((n) => rootAt(s, n)), sizes.map((n) => ref.root(n)), 'roots across the batches and the level-8 boundary');
    for (const level of [0, 1, 3, 7, 8]) {
      const count = Number(301n >> BigInt(level));
      t.same(s.getNodes(level, 0n, count), Array.from({ length: count }, (_, i) => ref.getNode(level, BigInt(i))), `level ${level}`);
    }
    t.same(s.getAnchor('M-3', 103n), { meterId: 'M-3', seq: 103n, leafIndex: 4n, readingHash: bytes(32, 3), keyId: bytes(8, 0) });
  });

  t.test('an anchor append whose entry is not the signed anchor it names is refused', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    const a = anchorAppend('M', 1n);
    t.throws(() => appendEntry(s, utf8.encode('not an anchor'), a.effect), { code: 'STORE_BAD_ENTRY' });
    const other = anchorAppend('M', 2n);
    t.throws(() => appendEntry(s, other.entry, a.effect), { code: 'STORE_BAD_ENTRY' });
    t.throws(() => appendEntry(s, a.entry.slice(0, -1), a.effect), { code: 'STORE_BAD_ENTRY' }, 'a short signature');
    t.equal(s.treeSize(), 0n);
    appendEntry(s, a.entry, a.effect);
    t.same(s.getEntry(0n), a.entry);
  });

  t.test('witness cosignatures: per (size, witness), replaced, newest sizes first, old sizes pruned', async (t) => {
    const s = open();
    t.teardown(() => s.close());
    t.same(s.cosignedSizes(10), []);
    t.same(s.getCosignatures(1n), []);
    const c = (size: bigint, witness: string, lines = `— ${witness} sig${size}\n`) => ({ size, witness, note: `note ${size}\n`, lines, atMs: 1000 });
    s.putCosignature(c(3n, 'w1'));
    s.putCosignature(c(3n, 'w2'));
    s.putCosignature(c(5n, 'w1'));
    s.putCosignature(c(3n, 'w1', '— w1 again\n'));
    t.same(s.cosignedSizes(10), [5n, 3n], 'newest first');
    t.same(s.cosignedSizes(1), [5n]);
    const three = s.getCosignatures(3n).sort((a, b) => a.witness.localeCompare(b.witness));
    t.same(three, [c(3n, 'w1', '— w1 again\n'), c(3n, 'w2')], 'one row per witness, the later replaces');
    for (let i = 10n; i < 10n + 300n; i++) s.putCosignature(c(i, 'w1'));
    const sizes = s.cosignedSizes(1000);
    t.ok(sizes.length >= 64 && sizes.length <= 300, `old sizes are pruned (${sizes.length} kept)`);
    t.equal(sizes[0], 309n);
    t.same(s.getCosignatures(3n), [], 'the oldest are gone');
  });

  if (reopen) {
    t.test('witness cosignatures survive a reopen', async (t) => {
      const s = open();
      s.putCosignature({ size: 7n, witness: 'w+1+x', note: 'n\n', lines: '— w x\n', atMs: 5 });
      const s2 = reopen(s);
      t.teardown(() => s2.close());
      t.same(s2.getCosignatures(7n), [{ size: 7n, witness: 'w+1+x', note: 'n\n', lines: '— w x\n', atMs: 5 }]);
      t.same(s2.cosignedSizes(5), [7n]);
    });

    t.test('everything survives a reopen', async (t) => {
      const s = open();
      const ref = new MemoryTree();
      for (let i = 0; i < 9; i++) {
        appendAnchor(s, 'M', BigInt(i));
        ref.append(leafHash(anchorAppend('M', BigInt(i)).entry));
      }
      s.putCheckpoint({ size: 9n, note: 'nine' });
      const s2 = reopen(s);
      t.teardown(() => s2.close());
      t.equal(s2.treeSize(), 9n);
      t.same(rootAt(s2, 9n), ref.root());
      t.equal(s2.getCheckpoint()?.note, 'nine');
      t.equal(s2.getAnchor('M', 8n)?.leafIndex, 8n);
      appendAnchor(s2, 'M', 9n, 3, bytes(8, 7));
      ref.append(leafHash(anchorAppend('M', 9n, 3, bytes(8, 7)).entry));
      t.same(rootAt(s2, 10n), ref.root());
      t.same(s2.getEntry(3n), anchorAppend('M', 3n).entry);
      t.same(s2.getAnchor('M', 9n)?.keyId, bytes(8, 7));
    });
  }
}
