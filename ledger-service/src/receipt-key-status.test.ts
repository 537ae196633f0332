// The receipt's key-status section on a real SQLite store: the per-meter index rebuilt at an OLDER checkpoint size
// (a receipt's quorum checkpoint lags the log) equals the index that checkpoint committed, even after the log grew
// with later anchors, a late lower seq, a revocation, a rotation and a new meter; the section built against it
// verifies with protocol verifyKeyStatus and lists only the events below that size.
import t, { type Test } from 'tap';
import {
  encodeKeyBinding, encodeRegistration, encodeRevocation, encodeSigned, generateKeyPair, keyId, noteSigner, openCheckpoint, parseKeyStatus,
  parseVerifierKey, encodeVerifierKey, verifyKeyStatus,
} from '@meterseal/protocol';
import { join } from 'node:path';
import { KEPT_INDEX_SNAPSHOTS, LedgerLog } from './log.js';
import { indexAt, keyStatusFor } from './receipt-key-status.js';
import { openSqliteStore } from './sqlite-store.js';
import type { AppendEffect } from './store.js';
import { anchorAppend } from './testing/store-conformance.js';
import { tempDir } from './testing/harness.js';

const ORIGIN = 'example.org/ledger';
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
const identity = generateKeyPair();

function registration(meterId: string): { entry: Uint8Array; effect: AppendEffect } {
  const record = encodeRegistration({ meterId, accountCommitment: bytes(32, 1), identityPublicKey: identity.publicKey, firmwareHash: bytes(32, 2), timeMs: 1n } as Parameters<typeof encodeRegistration>[0]);
  return { entry: encodeSigned(record, bytes(64, 9)), effect: { kind: 'registration', meter: { meterId, identityPublicKey: identity.publicKey, registeredAtMs: 1, certificate: bytes(10, 3), certificateSignature: bytes(64, 4) } } };
}
function binding(meterId: string, fill: number, firstSeq: bigint, authLeafIndex: bigint): { entry: Uint8Array; effect: AppendEffect } {
  const session = bytes(32, fill);
  const record = encodeKeyBinding({ meterId, identityKeyId: keyId(identity.publicKey), sessionPublicKey: session, firstSeq, createdAtMs: 2n });
  return { entry: encodeSigned(record, bytes(64, 8)), effect: { kind: 'binding', binding: { meterId, keyId: keyId(session), sessionPublicKey: session, firstSeq }, authLeafIndex } };
}
function revocation(meterId: string): { entry: Uint8Array; effect: AppendEffect } {
  const record = encodeRevocation({ meterId, identityKeyId: keyId(identity.publicKey), reason: 'meter stolen', timeMs: 5n, operatorCredential: bytes(3, 1) });
  return { entry: encodeSigned(record, bytes(64, 7)), effect: { kind: 'meter-event', event: { meterId, event: 'revoked', identityKeyId: keyId(identity.publicKey), detail: 'meter stolen', atMs: 5 } } };
}
const auth = (meterId: string): { entry: Uint8Array; effect: AppendEffect } => ({ entry: new Uint8Array([0x07, 1, meterId.length, ...Buffer.from(meterId)]), effect: { kind: 'auth', meterId, passed: true, atMs: 1 } });

/** A real SQLite log where each meter is registered, authenticated and bound (session key from seq 1). */
function boundMeters(t: Test, ids: string[]) {
  const keys = generateKeyPair();
  const vkey = parseVerifierKey(encodeVerifierKey(ORIGIN, keys.publicKey));
  const store = openSqliteStore(join(tempDir(t), 'ledger.sqlite'));
  t.teardown(() => store.close());
  const log = new LedgerLog(store, ORIGIN, noteSigner(ORIGIN, keys.secretKey));
  for (const id of ids) {
    log.appendBatch([registration(id)]);
    const a = log.appendBatch([auth(id)]);
    log.appendBatch([binding(id, id.charCodeAt(2), 1n, a)]);
  }
  return { vkey, store, log, d: { store, log } };
}

t.test('the index at an older checkpoint size is rebuilt exactly, and its key status verifies', async (t) => {
  const { vkey, store, log, d } = boundMeters(t, ['M-A', 'M-B', 'M-Q']);
  log.appendBatch([1n, 2n, 4n].map((s) => anchorAppend('M-A', s, Number(s))));
  log.appendBatch([anchorAppend('M-B', 1n, 1), anchorAppend('M-Q', 1n, 2)]);
  const older = log.checkpointNow();
  const snapshot = structuredClone(log.index());

  // the log grows: later anchors, a late lower seq, a revocation, a rotation, a new meter
  log.appendBatch([anchorAppend('M-A', 5n, 5), anchorAppend('M-A', 3n, 3)]);
  log.appendBatch([revocation('M-A')]);
  const a = log.appendBatch([auth('M-B')]);
  log.appendBatch([binding('M-B', 0x55, 2n, a)]);
  log.appendBatch([registration('M-C'), anchorAppend('M-C', 1n, 1)]);
  t.ok(log.size > older.size);
  t.notSame(log.index().root, snapshot.root, 'the current index differs');

  const at = indexAt(d, older.size);
  t.same(at.leaves, snapshot.leaves, 'the leaves at the older size');
  t.same(at.root, snapshot.root, 'its root is the one the older checkpoint committed');
  t.equal(indexAt(d, older.size), at, 'cached per size');

  const cp = openCheckpoint(older.note, vkey, ORIGIN);
  for (const id of ['M-A', 'M-B']) {
    const ks = keyStatusFor(d, id, older);
    t.ok(ks, `${id}: a section`);
    const { events } = verifyKeyStatus(parseKeyStatus(ks), id, cp, older.note);
    t.same(events.map((e) => e.kind), ['binding'], `${id}: only the events below the older size`);
  }
  t.equal(keyStatusFor(d, 'M-C', older), undefined, 'a meter not yet in the index at that size gets none');
  // against the current checkpoint: the revocation and the rotation are listed, the revocation with its entry
  const now = log.checkpointNow();
  const ksNow = parseKeyStatus(keyStatusFor(d, 'M-A', now));
  const v = verifyKeyStatus(ksNow, 'M-A', openCheckpoint(now.note, vkey, ORIGIN), now.note);
  t.same(v.events.map((e) => e.kind), ['binding', 'operator']);
  t.same([...v.reasons.values()].map((r) => r.reason), ['meter stolen']);
  t.same(verifyKeyStatus(parseKeyStatus(keyStatusFor(d, 'M-B', now)), 'M-B', openCheckpoint(now.note, vkey, ORIGIN), now.note).events.length, 2);
});

t.test('a checkpoint whose index line does not match the store: no section (and a warning), never a wrong one', async (t) => {
  const keys = generateKeyPair();
  const store = openSqliteStore(join(tempDir(t), 'ledger.sqlite'));
  t.teardown(() => store.close());
  const log = new LedgerLog(store, ORIGIN, noteSigner(ORIGIN, keys.secretKey));
  log.appendBatch([registration('M-A'), anchorAppend('M-A', 1n, 1)]);
  const cp = log.checkpointNow();
  const other = new LedgerLog(store, ORIGIN, noteSigner(ORIGIN, keys.secretKey));
  const warnings: unknown[] = [];
  const logger = { warn: (o: unknown) => void warnings.push(o) } as unknown as import('pino').Logger;
  const forged = { size: cp.size, note: cp.note.replace(/meterseal-index\/v1 1 \S+/, `meterseal-index/v1 1 ${Buffer.alloc(32, 1).toString('base64')}`) };
  t.not(forged.note, cp.note);
  t.equal(keyStatusFor({ store, log: other, logger }, 'M-A', forged), undefined);
  t.match(warnings, [{ meterId: 'M-A', why: /does not match its meterseal-index\/v1 line/ }]);
  t.ok(keyStatusFor({ store, log: other }, 'M-A', cp), 'the genuine checkpoint gets one');
});

t.test('a recent checkpoint uses the log\'s kept index snapshot; an evicted one is rebuilt to the same section', async (t) => {
  const { vkey, store, log, d } = boundMeters(t, ['M-A', 'M-B']);
  log.appendBatch([anchorAppend('M-A', 1n, 1), anchorAppend('M-B', 1n, 2)]);
  const older = log.checkpointNow();
  t.ok(log.keptIndex(older.size), 'the checkpoint\'s own index snapshot is kept');
  const fromKept = keyStatusFor(d, 'M-A', older);
  t.ok(fromKept, 'a section from the kept snapshot');
  verifyKeyStatus(parseKeyStatus(fromKept), 'M-A', openCheckpoint(older.note, vkey, ORIGIN), older.note);
  for (let s = 2n; s < 2n + BigInt(KEPT_INDEX_SNAPSHOTS); s++) {
    log.appendBatch([anchorAppend('M-A', s, Number(s))]);
    log.checkpointNow();
  }
  t.equal(log.keptIndex(older.size), undefined, `evicted after ${KEPT_INDEX_SNAPSHOTS} newer checkpoints`);
  t.same(keyStatusFor(d, 'M-A', older), fromKept, 'rebuilt at that size: the very same section');
});
