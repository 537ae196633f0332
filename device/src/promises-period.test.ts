// Inclusion promises of a ledger that rotates its log by period (docs/ledger.md "Log rotation by period"): an
// anchor resent after it was anchored in a since-closed period is acknowledged with a promise naming that
// period's log "<origin>/<period>" and its leaf there. The tracker accepts such a promise (and none for another
// ledger), and keeps it only with a receipt proven against THAT log's checkpoint: the same leaf index in
// another period's log is a broken promise.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  MemoryTree, buildReceipt, encodeAnchor, encodeSigned, generateKeyPair, inclusionProof, keyId, leafHash, noteSigner, signCheckpoint,
  signInclusionPromise, signRecord, toHex, type ResponseBody,
} from '@meterseal/protocol';
import { PromiseTracker, type ReceiptRpc } from './promises.js';

const BASE = 'meterseal.test/ledger';
const METER = 'M-1';
const ledger = generateKeyPair();
const session = generateKeyPair();

function signedAnchor(seq: bigint): Uint8Array {
  const record = encodeAnchor({ meterId: METER, seq, keyId: keyId(session.publicKey), readingHash: new Uint8Array(32).fill(Number(seq)) });
  return encodeSigned(record, signRecord(record, session.secretKey));
}

function promiseHex(anchor: Uint8Array, seq: bigint, leafIndex: bigint, logOrigin: string, now: number): string {
  return toHex(signInclusionPromise({
    logOrigin, meterId: METER, seq, anchorHash: leafHash(anchor), readingHash: new Uint8Array(32).fill(Number(seq)), leafIndex,
    issuedAtMs: BigInt(now), deadlineMs: BigInt(now + 1000),
  }, ledger.secretKey));
}

/** A period log holding `entries`, and the receipt request answered from it. */
function periodLog(origin: string, entries: Uint8Array[]): ReceiptRpc {
  const tree = new MemoryTree();
  for (const e of entries) tree.append(leafHash(e));
  // c2sp.org/signed-note: the ledger's note key is named by the base origin; the checkpoint names the period log
  const note = signCheckpoint({ origin, size: tree.size, root: tree.root(tree.size), extensions: [] }, noteSigner(BASE, ledger.secretKey));
  return {
    connected: true,
    async request(_op, _ref, _topic, payload): Promise<ResponseBody> {
      const q = JSON.parse(new TextDecoder().decode(payload)) as { seq: string };
      const index = Number(q.seq); // seq n is at leaf n
      const receipt = buildReceipt({
        meterId: METER, seq: BigInt(q.seq), anchorEntry: entries[index]!, anchorProof: { index: BigInt(index), proof: inclusionProof(tree, BigInt(index), tree.size), checkpoint: note },
        bindingEntry: new Uint8Array([1]), bindingProof: { index: 0n, proof: [], checkpoint: note }, certificate: new Uint8Array([1]), certificateSignature: new Uint8Array(64),
      });
      return { op: 'receipt', ref: `receipt:${q.seq}`, ok: true, receipt } as unknown as ResponseBody;
    },
  };
}

function tracker(t: Test, now: { ms: number }): PromiseTracker {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-promises-period-'));
  const p = new PromiseTracker(join(dir, 'agent.sqlite'), join(dir, 'evidence'), METER, pino({ level: 'silent' }), { now: () => now.ms });
  t.teardown(() => (p.close(), rmSync(dir, { recursive: true, force: true })));
  p.setLedger(ledger.publicKey, BASE);
  return p;
}

t.test('a promise naming a closed period\'s log is accepted and kept by a receipt against that log', async (t) => {
  const now = { ms: Date.UTC(2026, 10, 21, 13, 5) };
  const p = tracker(t, now);
  const entries = [new Uint8Array([0x16]), signedAnchor(1n), signedAnchor(2n)]; // seq n at leaf n
  p.accept(2n, entries[2]!, promiseHex(entries[2]!, 2n, 2n, `${BASE}/2026-11-21T12`, now.ms), '2');
  t.throws(() => p.accept(1n, entries[1]!, promiseHex(entries[1]!, 1n, 1n, 'other.test/ledger/2026-11-21T12', now.ms), '1'), { code: 'BAD_PROMISE' }, 'not another ledger\'s log');
  t.throws(() => p.accept(1n, entries[1]!, promiseHex(entries[1]!, 1n, 1n, `${BASE}/yesterday`, now.ms), '1'), { code: 'BAD_PROMISE' }, 'not a name that is no period');
  now.ms += 2000;
  await p.checkDue(periodLog(`${BASE}/2026-11-21T12`, entries));
  t.same(p.stats(), { held: 0, fulfilled: 1, brokenPromises: 0, badPromises: 2 });
});

t.test('the same leaf in another period\'s log does not keep it: a broken promise', async (t) => {
  const now = { ms: Date.UTC(2026, 10, 21, 13, 5) };
  const p = tracker(t, now);
  const entries = [new Uint8Array([0x16]), signedAnchor(1n), signedAnchor(2n)];
  p.accept(2n, entries[2]!, promiseHex(entries[2]!, 2n, 2n, `${BASE}/2026-11-21T12`, now.ms), '2');
  now.ms += 2000;
  await p.checkDue(periodLog(`${BASE}/2026-11-21T13`, entries)); // a valid proof, in the wrong log
  t.same(p.stats(), { held: 0, fulfilled: 0, brokenPromises: 1, badPromises: 0 });
});

t.test('a promise naming the base origin is kept by a receipt of any of its period logs (as before)', async (t) => {
  const now = { ms: Date.UTC(2026, 10, 21, 13, 5) };
  const p = tracker(t, now);
  const entries = [new Uint8Array([0x16]), signedAnchor(1n)];
  p.accept(1n, entries[1]!, promiseHex(entries[1]!, 1n, 1n, BASE, now.ms), '1');
  now.ms += 2000;
  await p.checkDue(periodLog(`${BASE}/2026-11-21T13`, entries));
  t.same(p.stats(), { held: 0, fulfilled: 1, brokenPromises: 0, badPromises: 0 });
});
