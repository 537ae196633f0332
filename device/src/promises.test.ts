// Inclusion promises on the agent, against a ledger test double on a real MQTT broker (aedes): the real
// Uplink, Outbox, RpcClient and PromiseTracker. An honest double includes each anchor and serves a receipt
// that verifies (promise fulfilled); a double that signs promises and never includes the anchors, or serves
// a forged proof, is caught after the deadline: broken promise, error log, stats, and the promise bytes kept
// as evidence. A promise not signed by the ledger key is no acknowledgement.
import t, { type Test } from 'tap';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import pino from 'pino';
import {
  MemoryTree, buildReceipt, decodeAnchor, encodeAnchor, encodeSigned, generateKeyPair, inclusionProof, keyId, leafHash,
  noteSigner, openInclusionPromise, responseTopic, signCheckpoint, signInclusionPromise, signRecord, splitSigned, toHex, type KeyPair,
} from '@meterseal/protocol';
import { Outbox } from './outbox.js';
import { PromiseTracker } from './promises.js';
import { RpcClient } from './rpc.js';
import { Uplink } from './uplink.js';

const ORIGIN = 'meterseal.test/ledger';
const METER = 'M-1';
type Mode = 'honest' | 'never' | 'forged' | 'wrong-key' | 'uncosigned';

/** A ledger double: answers anchors with promises (deadline 300 ms) and receipts per `mode`. */
async function ledgerDouble(url: string, ledger: KeyPair, mode: Mode) {
  const c = await mqtt.connectAsync(url, { protocolVersion: 4 });
  await c.subscribeAsync('meterseal/v1/ledger/#', { qos: 1 });
  const tree = new MemoryTree();
  const entries = new Map<string, { entry: Uint8Array; index: bigint }>();
  const reply = (body: object): void => void c.publishAsync(responseTopic(METER), JSON.stringify(body), { qos: 1 });
  c.on('message', (topic, payload) => {
    const bytes = new Uint8Array(payload);
    if (topic.startsWith('meterseal/v1/ledger/anchor/')) {
      const a = decodeAnchor(splitSigned(bytes).record);
      let e = entries.get(a.seq.toString());
      if (!e) entries.set(a.seq.toString(), (e = { entry: bytes, index: tree.append(leafHash(bytes)) }));
      const now = BigInt(Date.now());
      const signer = mode === 'wrong-key' ? generateKeyPair() : ledger;
      const promise = signInclusionPromise({
        logOrigin: ORIGIN, meterId: a.meterId, seq: a.seq, anchorHash: leafHash(bytes), readingHash: a.readingHash, leafIndex: e.index, issuedAtMs: now, deadlineMs: now + 300n,
      }, signer.secretKey);
      reply({ op: 'anchor', ref: a.seq.toString(), ok: true, seq: a.seq.toString(), leafIndex: e.index.toString(), duplicate: false, promise: toHex(promise) });
    } else if (topic === 'meterseal/v1/ledger/receipt') {
      const q = JSON.parse(payload.toString()) as { meterId: string; seq: string };
      const ref = `receipt:${q.seq}`;
      const e = entries.get(q.seq);
      if (mode === 'uncosigned') return reply({ op: 'receipt', ref, ok: false, error: { code: 'NOT_YET_COSIGNED', message: 'no quorum yet' } });
      if (mode === 'never' || !e) return reply({ op: 'receipt', ref, ok: false, error: { code: 'NOT_ANCHORED', message: `no anchor seq ${q.seq}` } });
      const size = tree.size;
      const note = signCheckpoint({ origin: ORIGIN, size, root: tree.root(size), extensions: [] }, noteSigner(ORIGIN, ledger.secretKey));
      const proof = inclusionProof(tree, e.index, size);
      if (mode === 'forged') proof.push(new Uint8Array(32).fill(7));
      const receipt = buildReceipt({
        meterId: METER, seq: BigInt(q.seq), anchorEntry: e.entry, anchorProof: { index: e.index, proof, checkpoint: note },
        bindingEntry: new Uint8Array([1]), bindingProof: { index: 0n, proof: [], checkpoint: note },
        certificate: new Uint8Array([1]), certificateSignature: new Uint8Array(64),
      });
      reply({ op: 'receipt', ref, ok: true, receipt });
    }
  });
  return c;
}

async function scenario(t: Test, mode: Mode, anchors = 3) {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-promises-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ledger = generateKeyPair();
  const double = await ledgerDouble(url, ledger, mode);
  const errors: string[] = [];
  const log = pino({ level: 'error' }, { write: (l: string) => void errors.push(l) });
  const outbox = new Outbox(join(dir, 'agent.sqlite'));
  const promises = new PromiseTracker(join(dir, 'agent.sqlite'), join(dir, 'evidence'), METER, log);
  const rpc = new RpcClient('ledger', url, METER, log, 5000, 3);
  const uplink = new Uplink('ledger', rpc, outbox, METER, 4, log, promises);
  t.teardown(async () => {
    await uplink.stop();
    await rpc.close();
    outbox.close();
    promises.close();
    await double.endAsync(true);
    await new Promise<void>((r) => broker.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
  const session = generateKeyPair();
  const signed: Uint8Array[] = [];
  for (let i = 0; i < anchors; i++) {
    outbox.enqueue((seq) => {
      const record = encodeAnchor({ meterId: METER, seq, keyId: keyId(session.publicKey), readingHash: new Uint8Array(32).fill(Number(seq)) });
      const anchor = encodeSigned(record, signRecord(record, session.secretKey));
      signed.push(anchor);
      return { anchor, delivery: anchor };
    });
  }
  uplink.start();
  await rpc.waitConnected(10_000);
  promises.setLedger(ledger.publicKey, ORIGIN); // what enrolment learns from the identity certificate
  uplink.kick();
  return { dir, outbox, promises, uplink, errors, signed, ledger };
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

t.test('an honest ledger: each promise is held, then fulfilled by a receipt that verifies', async (t) => {
  const s = await scenario(t, 'honest');
  await until(() => s.outbox.counts().ledgerAcked === 3, 'three acknowledgements');
  t.ok(s.promises.stats().held + s.promises.stats().fulfilled === 3, 'three promises kept');
  await until(() => s.promises.stats().fulfilled === 3, 'three receipts');
  t.same(s.promises.stats(), { held: 0, fulfilled: 3, brokenPromises: 0, badPromises: 0 });
  t.notOk(existsSync(join(s.dir, 'evidence')), 'no evidence');
  t.same(s.errors, [], 'nothing logged at error');
});

t.test('a ledger that promises and never includes: a broken promise, logged, counted, with evidence', async (t) => {
  const s = await scenario(t, 'never', 2);
  await until(() => s.promises.stats().brokenPromises === 2, 'two broken promises');
  t.equal(s.outbox.counts().ledgerAcked, 2, 'the anchors were acknowledged (with a valid promise)');
  t.ok(s.errors.some((l) => l.includes('BROKEN PROMISE') && l.includes('NOT_ANCHORED')), 'logged at error with the reason');
  for (const seq of [1n, 2n]) {
    const base = join(s.dir, 'evidence', `broken-promise-${METER}-${seq}`);
    const evidence = new Uint8Array(readFileSync(`${base}.promise`));
    const p = openInclusionPromise(evidence, s.ledger.publicKey, s.signed[Number(seq) - 1]);
    t.equal(p.seq, seq, `the evidence for seq ${seq} is the promise the ledger signed`);
    t.match(JSON.parse(readFileSync(`${base}.json`, 'utf8')), { meterId: METER, seq: String(seq), reason: /NOT_ANCHORED/ });
  }
});

t.test('a forged receipt after the deadline is a broken promise too', async (t) => {
  const s = await scenario(t, 'forged', 1);
  await until(() => s.promises.stats().brokenPromises === 1, 'one broken promise');
  t.ok(s.errors.some((l) => l.includes('BROKEN PROMISE') && /inclusion proof|root/.test(l)), 'the reason names the proof');
});

t.test('a receipt still waiting for the witness quorum keeps the promise held: the witnesses are down, not the promise broken', async (t) => {
  const s = await scenario(t, 'uncosigned', 1);
  await until(() => s.errors.length === 0 && s.promises.stats().held === 1 && s.outbox.counts().ledgerAcked === 1, 'an acknowledged, held promise');
  await sleep(1500); // well past the 300 ms deadline: the tracker has asked for the receipt several times
  t.same(s.promises.stats(), { held: 1, fulfilled: 0, brokenPromises: 0, badPromises: 0 });
  t.notOk(existsSync(join(s.dir, 'evidence')), 'no evidence of a broken promise');
});

t.test('a promise not signed by the ledger key acknowledges nothing', async (t) => {
  const s = await scenario(t, 'wrong-key', 1);
  await until(() => s.promises.stats().badPromises >= 1, 'a refused promise');
  t.equal(s.outbox.counts().ledgerAcked, 0, 'the anchor stays queued');
  t.ok((s.uplink.stats.rejected.BAD_PROMISE ?? 0) >= 1);
  t.ok(s.errors.some((l) => l.includes('not signed by the ledger key')));
});

t.test('held promises survive a restart of the agent', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-promises-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = generateKeyPair();
  const anchor = new Uint8Array(80).fill(3);
  const now = BigInt(Date.now());
  const promise = signInclusionPromise({
    logOrigin: ORIGIN, meterId: METER, seq: 1n, anchorHash: leafHash(anchor), readingHash: new Uint8Array(32), leafIndex: 0n, issuedAtMs: now, deadlineMs: now + 3_600_000n,
  }, ledger.secretKey);
  const a = new PromiseTracker(join(dir, 'agent.sqlite'), join(dir, 'evidence'), METER, pino({ level: 'silent' }));
  a.setLedger(ledger.publicKey, ORIGIN);
  t.throws(() => a.accept(1n, anchor, 'zz'), { code: 'BAD_PROMISE' });
  t.throws(() => a.accept(1n, new Uint8Array(80), toHex(promise)), { code: 'BAD_PROMISE', message: /another anchor/ });
  t.throws(() => a.accept(2n, anchor, toHex(promise)), { code: 'BAD_PROMISE', message: /names M-1 seq 1/ });
  a.accept(1n, anchor, toHex(promise), '0');
  a.close();
  const b = new PromiseTracker(join(dir, 'agent.sqlite'), join(dir, 'evidence'), METER, pino({ level: 'silent' }));
  t.teardown(() => b.close());
  t.equal(b.stats().held, 1);
  t.same(b.due(), [], 'not due before its deadline');
});
