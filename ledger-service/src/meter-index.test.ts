// The index a checkpoint commits is the one the store holds: edited at rest (the meter_trees row of one
// meter), the served index no longer matches the signed checkpoint, and its proofs fail.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import {
  generateKeyPair, indexCommitment, indexInclusionProof, indexLeafHash, noteSigner, openCheckpoint, encodeVerifierKey, parseVerifierKey, verifyInclusion,
} from '@meterseal/protocol';
import { LedgerLog } from './log.js';
import { openSqliteStore } from './sqlite-store.js';
import { anchorAppend } from './testing/store-conformance.js';
import { tempDir } from './testing/harness.js';

t.test('an index edited at rest no longer verifies against the checkpoint that committed it', async (t) => {
  const path = join(tempDir(t), 'ledger.sqlite');
  const keys = generateKeyPair();
  const signer = noteSigner('example.org/ledger', keys.secretKey);
  const vkey = parseVerifierKey(encodeVerifierKey('example.org/ledger', keys.publicKey));
  let store = openSqliteStore(path);
  let log = new LedgerLog(store, 'example.org/ledger', signer);
  log.appendBatch(Array.from({ length: 40 }, (_, i) => anchorAppend(`M-${i % 4}`, BigInt(1 + Math.floor(i / 4)), i)));
  const cp = openCheckpoint(log.checkpointNow().note, vkey);
  const committed = indexCommitment(cp);
  const honest = log.index();
  t.same(honest.root, committed.root);
  store.close();

  const db = new Database(path);
  db.prepare('UPDATE meter_trees SET edge = ? WHERE meter = (SELECT num FROM anchor_meters WHERE meter_id = ?)').run(Buffer.alloc(64, 7), 'M-2');
  db.close();

  store = openSqliteStore(path);
  t.teardown(() => store.close());
  log = new LedgerLog(store, 'example.org/ledger', signer);
  t.equal(log.latestCheckpoint().note, log.checkpointNow().note, 'the same size: the stored checkpoint is served');
  const served = log.index();
  const i = served.leaves.findIndex((l) => l.meterId === 'M-2');
  t.notSame(served.leaves[i]!.treeRoot, honest.leaves[i]!.treeRoot, 'the edited meter root is served');
  t.notSame(served.root, committed.root, 'the served index does not hash to the committed root');
  const proofAgainst = (leaves: typeof served.leafHashes) => verifyInclusion(indexLeafHash(served.leaves[i]!), i, served.leaves.length, indexInclusionProof(leaves, i), committed.root);
  t.notOk(proofAgainst(served.leafHashes), "the edited leaf's inclusion proof fails against the checkpoint's index root");
  t.ok(verifyInclusion(honest.leafHashes[i]!, i, honest.leaves.length, indexInclusionProof(honest.leafHashes, i), committed.root), 'the honest one verified');
});
