// Group commit keeps every guarantee of deciding anchors one at a time: the same answers in the same order
// (duplicates and conflicts inside one group included), no answer before the group's transaction has
// committed, nothing acknowledged when the commit fails, and other requests ordered around the group.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import pino from 'pino';
import {
  LedgerTopics, encodeAnchor, encodeKeyBinding, encodeSigned, generateKeyPair, keyId, signRecord, utf8, type KeyPair,
} from '@meterseal/protocol';
import { AnchorIngest, type IngestOptions } from './anchor-ingest.js';
import { parseLedgerConfig } from './config.js';
import { DB_FILE, openLedgerCore } from './core.js';
import { RpcRouter } from './rpc.js';
import { openSqliteStore } from './sqlite-store.js';
import type { AppendRequest } from './store.js';
import { tempDir } from './testing/harness.js';
import { VerifyPool, type VerifyJob } from './verify-pool.js';

const NOW = 1_800_000_000_000;
type Body = Record<string, unknown> & { op: string; ref: string; ok: boolean; error?: { code: string; message: string } };
interface Keys {
  identity: KeyPair;
  session: KeyPair;
  other: KeyPair;
}
const newKeys = (): Keys => ({ identity: generateKeyPair(), session: generateKeyPair(), other: generateKeyPair() });

/** A ledger without a network: meter M-1 registered, a session key bound from seq 1, written straight into the log. */
function setup(t: Test, keys: Keys, o: Partial<IngestOptions> = {}) {
  const dataDir = tempDir(t);
  const core = openLedgerCore(parseLedgerConfig({ dataDir }), pino({ level: 'silent' }));
  t.teardown(() => core.close());
  const sent: Body[] = [];
  const rejected: string[] = [];
  const ingest = new AnchorIngest(core.deps, { maxGroup: 512, ...o });
  const router = new RpcRouter(core.deps, async (m) => void sent.push(JSON.parse(m.payload) as Body), (c) => rejected.push(c), () => NOW, ingest);
  const { log } = core.deps;
  const sessionKeyId = keyId(keys.session.publicKey);
  log.append(utf8.encode('registration of M-1'), {
    kind: 'registration',
    meter: { meterId: 'M-1', identityPublicKey: keys.identity.publicKey, registeredAtMs: NOW, certificate: utf8.encode('cert'), certificateSignature: new Uint8Array(64) },
  });
  const pass = log.append(utf8.encode('auth of M-1'), { kind: 'auth', meterId: 'M-1', passed: true, atMs: NOW });
  log.append(utf8.encode('binding of M-1'), {
    kind: 'binding', binding: { meterId: 'M-1', keyId: sessionKeyId, sessionPublicKey: keys.session.publicKey, firstSeq: 1n }, authLeafIndex: pass,
  });
  const anchor = (seq: bigint, a: { fill?: number; signWith?: Uint8Array; keyId?: Uint8Array } = {}): Uint8Array => {
    const record = encodeAnchor({ meterId: 'M-1', seq, keyId: a.keyId ?? sessionKeyId, readingHash: new Uint8Array(32).fill(a.fill ?? Number(seq)) });
    return encodeSigned(record, signRecord(record, a.signWith ?? keys.session.secretKey));
  };
  const send = (payload: Uint8Array): Promise<void> => router.dispatch({ topic: LedgerTopics.anchor('M-1'), payload });
  return { core, ingest, router, sent, rejected, anchor, send, dataDir };
}

/** The answers without their `promise`; throws unless exactly the accepted ones carried a promise. */
function withoutPromise(bodies: Body[]): Body[] {
  return bodies.map(({ promise, ...rest }) => {
    if (rest.ok !== (typeof promise === 'string')) throw new Error(`answer ${rest.ref}: ok=${rest.ok} but promise=${typeof promise}`);
    return rest as Body;
  });
}

/** Every rule in one sequence: duplicates and conflicts of anchors earlier in the same sequence included. */
function sequence(f: ReturnType<typeof setup>, keys: Keys): Uint8Array[] {
  const a1 = f.anchor(1n);
  const a3 = f.anchor(3n);
  return [
    a1,
    a1, // duplicate of an anchor not yet committed
    f.anchor(1n, { fill: 99 }), // CONFLICT with it
    f.anchor(2n, { signWith: keys.other.secretKey }), // BAD_SIGNATURE
    f.anchor(1n, { fill: 98, signWith: keys.other.secretKey }), // an unverifiable anchor is no conflict
    f.anchor(0n), // SEQ_OUTSIDE_BINDING
    f.anchor(4n, { signWith: keys.other.secretKey, keyId: keyId(keys.other.publicKey) }), // NO_SESSION_KEY
    a3,
    f.anchor(2n),
    a3,
    f.anchor(3n, { fill: 97 }),
  ];
}

t.test('a group decides exactly as one anchor at a time would, inline and on the worker pool', async (t) => {
  const keys = newKeys();
  const one = setup(t, keys);
  for (const p of sequence(one, keys)) await one.send(p);
  t.equal(one.ingest.stats.groups, 11, 'one at a time: eleven groups of one');
  t.match(one.sent.map((b) => (b.ok ? (b.duplicate ? 'dup' : 'ok') : b.error!.code)), [
    'ok', 'dup', 'CONFLICT', 'BAD_SIGNATURE', 'BAD_SIGNATURE', 'SEQ_OUTSIDE_BINDING', 'NO_SESSION_KEY', 'ok', 'ok', 'dup', 'CONFLICT',
  ]);
  t.match(one.sent[1], { leafIndex: one.sent[0]!.leafIndex, duplicate: true });
  t.match(one.sent[2]!.error!.message, `already anchored at leaf ${String(one.sent[0]!.leafIndex)}`);

  const pool = new VerifyPool(2);
  t.teardown(() => pool.close());
  for (const [name, o] of [['inline', {}], ['worker pool', { pool, inlineBelow: 1 }]] as const) {
    const group = setup(t, keys, o);
    await Promise.all(sequence(group, keys).map((p) => group.send(p)));
    t.same(group.ingest.stats, { groups: 1, anchors: 11, largestGroup: 11 }, `${name}: one group`);
    // each ledger has its own key and clock, so the signed inclusion promises differ: compare the rest, and
    // that every accepted anchor (and no refusal) carries one
    t.same(withoutPromise(group.sent), withoutPromise(one.sent), `${name}: the same answers in the same order`);
    t.same(group.rejected, one.rejected, `${name}: the same refusals counted`);
    t.equal(group.core.deps.store.treeSize(), one.core.deps.store.treeSize());
    t.same(group.core.deps.log.root(), one.core.deps.log.root(), `${name}: the same tree`);
  }
});

t.test('no answer leaves before the transaction holding its anchor has committed', async (t) => {
  const keys = newKeys();
  const f = setup(t, keys);
  const store = f.core.deps.store;
  const reader = openSqliteStore(join(f.dataDir, DB_FILE), { readonly: true }); // another connection: sees only commits
  t.teardown(() => reader.close());
  const real = store.appendBatch.bind(store);
  const commits: Array<{ entries: number; sentBefore: number; visibleBefore: bigint; visibleAfter: bigint; sentAfter: number }> = [];
  store.appendBatch = (reqs: readonly AppendRequest[]) => {
    const c = { entries: reqs.length, sentBefore: f.sent.length, visibleBefore: reader.treeSize(), visibleAfter: 0n, sentAfter: 0 };
    real(reqs);
    c.visibleAfter = reader.treeSize();
    c.sentAfter = f.sent.length;
    commits.push(c);
  };
  const payloads = [1n, 2n, 3n, 4n, 5n].map((s) => f.anchor(s));
  await Promise.all([...payloads, payloads[0]!].map((p) => f.send(p)));
  t.same(commits, [{ entries: 5, sentBefore: 0, visibleBefore: 3n, visibleAfter: 8n, sentAfter: 0 }], 'one commit; nothing sent before or during it');
  t.equal(f.sent.length, 6);
  t.ok(f.sent.every((b) => b.ok), 'all acknowledged after it');
});

t.test('a failed commit acknowledges nothing of its group, and the next group works', async (t) => {
  const keys = newKeys();
  const f = setup(t, keys);
  const store = f.core.deps.store;
  const real = store.appendBatch.bind(store);
  store.appendBatch = () => {
    throw new Error('disk full');
  };
  const payloads = [1n, 2n, 3n].map((s) => f.anchor(s));
  await Promise.all([...payloads, payloads[1]!, f.anchor(0n)].map((p) => f.send(p)));
  t.same(f.sent.map((b) => b.error?.code), ['INTERNAL', 'INTERNAL', 'INTERNAL', 'INTERNAL', 'SEQ_OUTSIDE_BINDING'], 'the duplicate of an uncommitted anchor too');
  t.notOk(f.sent.some((b) => b.ok));
  t.notMatch(JSON.stringify(f.sent), /disk full/, 'no internals leak to the meter');
  t.same(f.rejected, ['INTERNAL', 'INTERNAL', 'INTERNAL', 'INTERNAL', 'SEQ_OUTSIDE_BINDING']);
  t.equal(store.treeSize(), 3n, 'nothing appended');

  store.appendBatch = real;
  f.sent.length = 0;
  await Promise.all(payloads.map((p) => f.send(p)));
  t.same(f.sent.map((b) => [b.ok, b.leafIndex]), [[true, '3'], [true, '4'], [true, '5']], 'the same anchors again: appended');
});

t.test('other requests wait for the anchors that arrived before them', async (t) => {
  const keys = newKeys();
  const f = setup(t, keys);
  const { log } = f.core.deps;
  log.append(utf8.encode('second auth of M-1'), { kind: 'auth', meterId: 'M-1', passed: true, atMs: NOW });
  const record = encodeKeyBinding({ meterId: 'M-1', identityKeyId: keyId(keys.identity.publicKey), sessionPublicKey: generateKeyPair().publicKey, firstSeq: 3n, createdAtMs: BigInt(NOW) });
  const bind = encodeSigned(record, signRecord(record, keys.identity.secretKey));
  const challenge = utf8.encode(JSON.stringify({ meterId: 'M-1' }));
  await Promise.all([
    f.send(f.anchor(1n)),
    f.send(f.anchor(3n)),
    f.router.dispatch({ topic: LedgerTopics.bind, payload: bind }),
    f.router.dispatch({ topic: LedgerTopics.challenge, payload: challenge }),
    f.send(f.anchor(2n)),
  ]);
  t.same(f.sent.map((b) => [b.op, b.ok ? 'ok' : b.error!.code]), [['anchor', 'ok'], ['anchor', 'ok'], ['bind', 'BAD_FIRST_SEQ'], ['challenge', 'ok'], ['anchor', 'ok']]);
  t.match(f.sent[2]!.error!.message, /greater than 3/, 'the binding saw seq 3, anchored just before it');
  t.same(f.sent.filter((b) => b.op === 'anchor').map((b) => b.leafIndex), ['4', '5', '6'], 'leaf indexes in arrival order');
});

t.test('a worker failure is not a refusal: the group is verified on the event loop', async (t) => {
  const keys = newKeys();
  const failing = { size: 1, verify: async (_: readonly VerifyJob[]) => Promise.reject(new Error('worker died')) } as unknown as VerifyPool;
  const f = setup(t, keys, { pool: failing, inlineBelow: 1 });
  await Promise.all([f.send(f.anchor(1n)), f.send(f.anchor(2n, { signWith: keys.other.secretKey }))]);
  t.same(f.sent.map((b) => (b.ok ? 'ok' : b.error!.code)), ['ok', 'BAD_SIGNATURE']);
});

t.test('backpressure: room() holds the transport while the queue is long, and frees it once a group is taken', async (t) => {
  const f = setup(t, newKeys(), { highWater: 4 });
  t.equal(f.ingest.room(), undefined, 'an empty queue has room');
  const sends = [1n, 2n, 3n, 4n, 5n].map((s) => f.send(f.anchor(s)));
  const room = f.ingest.room();
  t.ok(room, 'five queued, four allowed: wait');
  await room;
  await Promise.all(sends);
  t.same(f.sent.map((b) => b.ok), [true, true, true, true, true]);
  t.equal(f.ingest.room(), undefined);
});

t.test('backpressure is released when the queue drains through other requests too', async (t) => {
  let release!: () => void;
  const held = { size: 1, verify: (jobs: readonly VerifyJob[]) => new Promise<boolean[]>((r) => (release = () => r(jobs.map(() => true)))) };
  const f = setup(t, newKeys(), { pool: held as unknown as VerifyPool, inlineBelow: 1, highWater: 2 });
  const first = f.send(f.anchor(1n));
  await new Promise<void>((r) => setImmediate(r)); // the group is taken; its verification is held
  const payload = utf8.encode(JSON.stringify({ meterId: 'M-1' }));
  const challenges = [0, 1, 2].map(() => f.router.dispatch({ topic: LedgerTopics.challenge, payload }));
  const room = f.ingest.room();
  t.ok(room, 'three requests wait behind the group');
  release();
  await room;
  await Promise.all([first, ...challenges]);
  t.same(f.sent.map((b) => [b.op, b.ok]), [['anchor', true], ['challenge', true], ['challenge', true], ['challenge', true]]);
});
