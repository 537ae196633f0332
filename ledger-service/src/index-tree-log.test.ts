// LedgerLog's index kept between checkpoints (index-tree.ts) on a real SQLite file: after every random batch of
// anchors (existing meters, new meters, late lower seqs), registrations and key bindings, the checkpoint commits
// exactly protocol's indexRoot over the store's full leaf list, and what a log rebuilding from scratch commits; a
// snapshot of an earlier size keeps its leaves, root and proofs; a rolled-back batch leaves nothing behind.
import { join } from 'node:path';
import t from 'tap';
import {
  bytesEqual, generateKeyPair, indexCommitment, indexInclusionProof, indexLeafHash, indexRoot, noteSigner, parseCheckpointText, parseNote, utf8,
} from '@meterseal/protocol';
import { LedgerLog, type PendingEntry } from './log.js';
import { openSqliteStore } from './sqlite-store.js';
import { anchorAppend } from './testing/store-conformance.js';
import { tempDir } from './testing/harness.js';

const ORIGIN = 'example.org/index-tree';
const registration = (meterId: string): PendingEntry => ({
  entry: utf8.encode(`registration ${meterId}`),
  effect: { kind: 'registration', meter: { meterId, identityPublicKey: new Uint8Array(32).fill(5), registeredAtMs: 1, certificate: new Uint8Array(10), certificateSignature: new Uint8Array(64) } },
});
const binding = (meterId: string, k: number): PendingEntry => ({
  entry: utf8.encode(`binding ${meterId} ${k}`),
  effect: { kind: 'carried-binding', binding: { meterId, keyId: new Uint8Array(8).fill(k), sessionPublicKey: new Uint8Array(32).fill(k), firstSeq: BigInt(k) } },
});

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const committedRoot = (note: string) => indexCommitment(parseCheckpointText(parseNote(note).text));

t.test('random batches: each checkpoint commits indexRoot over all the store\'s leaves; earlier snapshots stay as they were', async (t) => {
  const path = join(tempDir(t), 'ledger.sqlite');
  const store = openSqliteStore(path);
  t.teardown(() => store.close());
  const signer = noteSigner(ORIGIN, generateKeyPair().secretKey);
  const log = new LedgerLog(store, ORIGIN, signer);
  const next = rng(20_000);
  const seqs = new Map<string, bigint>();
  const kept: Array<{ snap: ReturnType<LedgerLog['index']>; leaves: ReturnType<typeof store.meterIndexLeaves> }> = [];
  let mismatches = 0;
  for (let step = 0; step < 60; step++) {
    const batch: PendingEntry[] = [];
    const n = 1 + Math.floor(next() * 8);
    for (let i = 0; i < n; i++) {
      const r = next();
      const id = `M-${Math.floor(next() * 40).toString().padStart(3, '0')}`;
      if (r < 0.1) batch.push(registration(`R-${step}-${i}`));
      else if (r < 0.2) batch.push(binding(id, 1 + Math.floor(next() * 200)));
      else {
        const last = seqs.get(id) ?? 0n;
        const seq = r < 0.25 && last > 2n ? last - 1n - BigInt(Math.floor(next() * Number(last - 1n))) : last + 1n + BigInt(Math.floor(next() * 3));
        if (batch.some((b) => b.effect.kind === 'anchor' && b.effect.anchor.meterId === id && b.effect.anchor.seq === seq) || store.getAnchor(id, seq)) continue;
        if (seq > last) seqs.set(id, seq);
        batch.push(anchorAppend(id, seq, step % 200));
      }
    }
    if (batch.length > 0) log.appendBatch(batch);
    if (step % 7 === 3) {
      // a batch that fails inside its transaction (a duplicate (meter, seq)) is rolled back: no index change remains
      const [id, seq] = [...seqs.entries()][0]!;
      t.throws(() => log.appendBatch([anchorAppend(`N-${step}`, 1n, 1), anchorAppend(id, seq, 77)]));
    }
    const cp = log.checkpointNow();
    const all = store.meterIndexLeaves();
    const snap = log.index();
    const c = committedRoot(cp.note);
    if (!bytesEqual(c.root, indexRoot(all)) || c.meters !== BigInt(all.length) || !bytesEqual(snap.root, c.root)) mismatches++;
    kept.push({ snap, leaves: all });
  }
  t.equal(mismatches, 0, 'every checkpoint committed the full recomputation');
  const fresh = new LedgerLog(store, ORIGIN, signer, { incrementalIndex: false });
  t.same(fresh.index().root, log.index().root, 'a log rebuilding from all leaves commits the same root');
  let stale = 0;
  for (const { snap, leaves } of kept) {
    const hashes = leaves.map(indexLeafHash);
    const same = snap.meters === leaves.length && bytesEqual(snap.root, indexRoot(leaves))
      && snap.leaves.every((l, i) => bytesEqual(indexLeafHash(l), hashes[i]!))
      && leaves.every((l, i) => snap.position(l.meterId) === i && indexInclusionProof(hashes, i).every((h, j) => bytesEqual(h, snap.proof(i)[j]!)));
    if (!same) stale++;
  }
  t.equal(stale, 0, `all ${kept.length} snapshots still give the leaves, root, positions and proofs of their own size`);
  // nothing cached (new connections): the ordered scans, whole and in runs of 7 ids, give leaf(id)'s leaves
  const perMeter = openSqliteStore(path, { readonly: true });
  const scanned = openSqliteStore(path, { readonly: true });
  t.teardown(() => (perMeter.close(), scanned.close()));
  const ids = scanned.meterIndex.ids();
  const runs = [];
  for (let i = 0; i < ids.length; i += 7) runs.push(...scanned.meterIndex.leavesOf(ids.slice(i, i + 7), false));
  const reference = ids.map((id) => indexLeafHash(perMeter.meterIndex.leaf(id)));
  t.ok(ids.length > 40, `${ids.length} meters`);
  t.same(scanned.meterIndexLeaves().map(indexLeafHash), reference, 'one scan: the per-meter leaves');
  t.same(runs.map(indexLeafHash), reference, 'scans of runs of 7 ids: the per-meter leaves');
});

t.test('after a restart the index is rebuilt from the store, then updated again', async (t) => {
  const path = join(tempDir(t), 'ledger.sqlite');
  const signer = noteSigner(ORIGIN, generateKeyPair().secretKey);
  let store = openSqliteStore(path);
  let log = new LedgerLog(store, ORIGIN, signer);
  log.appendBatch([registration('A'), anchorAppend('A', 1n, 1), anchorAppend('B', 1n, 2)]);
  log.checkpointNow();
  store.close();
  store = openSqliteStore(path);
  t.teardown(() => store.close());
  log = new LedgerLog(store, ORIGIN, signer);
  log.appendBatch([anchorAppend('B', 2n, 3), registration('C')]);
  t.same(committedRoot(log.checkpointNow().note).root, indexRoot(store.meterIndexLeaves()));
  log.appendBatch([anchorAppend('A', 2n, 4), binding('C', 9)]);
  const cp = log.checkpointNow();
  t.same(committedRoot(cp.note), { meters: 3n, root: indexRoot(store.meterIndexLeaves()) });
});
