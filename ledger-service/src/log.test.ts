// The log against the protocol's reference tree and verifiers.
import t from 'tap';
import { join } from 'node:path';
import {
  MemoryTree, leafHash, noteSigner, encodeVerifierKey, openCheckpoint, parseVerifierKey, publicKeyFromSecret, utf8,
  verifyConsistency, verifyInclusion,
} from '@meterseal/protocol';
import { LedgerLog } from './log.js';
import { openSqliteStore } from './sqlite-store.js';
import { tempDir } from './testing/harness.js';

t.test('append, roots, proofs and checkpoints', async (t) => {
  const store = openSqliteStore(join(tempDir(t), 'l.sqlite'));
  t.teardown(() => store.close());
  const secret = new Uint8Array(32).fill(7);
  const log = new LedgerLog(store, 'example.org/log', noteSigner('example.org/log', secret));
  const vkey = parseVerifierKey(encodeVerifierKey('example.org/log', publicKeyFromSecret(secret)));

  const empty = openCheckpoint(log.latestCheckpoint().note, vkey, 'example.org/log');
  t.equal(empty.size, 0n);
  const ref = new MemoryTree();
  const entries: Uint8Array[] = [];
  for (let i = 0; i < 21; i++) {
    const e = utf8.encode(`entry ${i}`);
    entries.push(e);
    t.equal(log.append(e, { kind: 'auth', meterId: 'M', passed: false, atMs: i }), BigInt(i));
    ref.append(leafHash(e));
  }
  t.throws(() => log.append(utf8.encode('x'), { kind: 'auth', meterId: 'M', passed: false, atMs: 0 }, 3n), { code: 'STORE_APPEND_RACE' });
  t.same(log.root(), ref.root());

  const c21 = log.checkpointNow();
  t.same(log.checkpointNow(), c21, 'no new checkpoint while the size is unchanged');
  const cp = openCheckpoint(c21.note, vkey, 'example.org/log');
  t.equal(cp.size, 21n);
  t.same(cp.root, ref.root());
  for (const i of [0n, 5n, 20n]) t.ok(verifyInclusion(leafHash(entries[Number(i)]!), i, 21n, log.inclusionProof(i, 21n), cp.root), `inclusion of ${i}`);
  t.ok(verifyConsistency(7n, 21n, log.consistencyProof(7n, 21n), ref.root(7n), cp.root));
  t.throws(() => log.inclusionProof(0n, 22n), { code: 'OUT_OF_RANGE' });
  t.equal(store.getCheckpoint()?.note, c21.note, 'stored');
});
