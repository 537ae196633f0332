// The next period's log prepared ahead of the boundary (period-prepare.ts) against the carry done whole at the
// boundary: two data directories driven by the same appends with the same ledger key, one preparing in small
// batches interleaved with key events (a rebinding that supersedes a staged binding, a new meter, a revocation,
// a first binding), one not. The prepared log carries the key state at the preparation's snapshot, then every
// key event since it (still in force) for the meters it touched: each meter resolves to the same key state as
// in the closed log (and in the whole carry), every carried entry is a copy of a closed-log entry, in old-log
// order, and entry 0 and every carried entry are proven against the new log's first checkpoint.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import pino from 'pino';
import {
  decodePreviousLog, generateKeyPair, indexCommitment, indexRoot, keyId, leafHash, openCheckpoint, parseCheckpointText, parseNote, parseVerifierKey, toHex, utf8,
  verifyInclusion, verifyPeriodChain,
} from '@meterseal/protocol';
import { IndexTree } from './index-tree.js';
import { loadOrCreateKeys, type LedgerKeys } from './keys.js';
import { PeriodLogSet } from './period-set.js';
import { RotatingLog, RotatingStore } from './period-store.js';
import type { AppendEffect, LedgerStore } from './store.js';
import { ManualClock, tempDir } from './testing/harness.js';

const BASE = 'prepare.test/ledger';
const id = generateKeyPair();
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
const reg = (meterId: string): AppendEffect => ({
  kind: 'registration',
  meter: { meterId, identityPublicKey: id.publicKey, registeredAtMs: 1, certificate: utf8.encode(`cert ${meterId}`), certificateSignature: new Uint8Array(64) },
});

function ledger(t: Test, dataDir: string, keys: LedgerKeys, clock: ManualClock, prepareAheadMs: number) {
  const set = PeriodLogSet.open({ dataDir, baseOrigin: BASE, unit: 'hour', keys, now: clock.now, logger: pino({ level: 'silent' }), prepareAheadMs });
  const store = new RotatingStore(set);
  t.teardown(() => store.close());
  const log = new RotatingLog(set, store, keys.noteSigner, BASE);
  let auth = 0n;
  const e = (s: string): Uint8Array => utf8.encode(s);
  return {
    set, store, log,
    register: (m: string) => log.append(e(`reg ${m}`), reg(m)),
    bind: (m: string, k: number, firstSeq: bigint) => {
      auth = log.append(e(`auth ${m} ${k}`), { kind: 'auth', meterId: m, passed: true, atMs: 1 });
      log.append(e(`bind ${m} ${k}`), { kind: 'binding', binding: { meterId: m, keyId: bytes(8, k), sessionPublicKey: bytes(32, k), firstSeq }, authLeafIndex: auth });
    },
    revoke: (m: string) => log.append(e(`revoke ${m}`), { kind: 'meter-event', event: { meterId: m, event: 'revoked', identityKeyId: keyId(id.publicKey), detail: 'test', atMs: 3 } }),
    filler: (n: number) => log.append(e(`auth-summary ${n}`), { kind: 'auth-summary', failures: n }),
  };
}

type L = ReturnType<typeof ledger>;

/** The period's history up to the lead; `during` runs the key events of the lead (with `step` between them). */
function history(l: L): void {
  for (const m of ['A', 'B', 'C', 'D', 'E']) l.register(m);
  l.bind('A', 1, 1n);
  l.bind('B', 2, 1n);
  l.bind('C', 3, 1n);
  l.revoke('D');
  l.bind('A', 4, 50n); // A's latest binding
  l.filler(1);
}

function during(l: L, step: () => void): void {
  step(); // the first batch is staged …
  l.bind('B', 5, 80n); // … B's staged binding is superseded
  l.register('G'); // a meter the listing did not see
  step();
  l.revoke('C');
  l.filler(2);
  step();
  l.bind('E', 6, 1n); // E's first binding, after E was staged
  l.bind('G', 7, 1n);
  for (let i = 0; i < 5; i++) step();
}

function newLog(l: L): { entries: string[]; checkpoint: string; carried: bigint } {
  const size = l.store.treeSize();
  const entries = l.store.getEntries(0n, Number(size)).map((b) => Buffer.from(b).toString('hex'));
  return { entries, checkpoint: l.log.latestCheckpoint().note, carried: decodePreviousLog(l.store.getEntry(0n)!).carried };
}

/** What a meter resolves to: identity key and certificate in force, latest binding, operator events. */
function keyState(s: LedgerStore, meters: readonly string[]): unknown[] {
  return meters.map((m) => {
    const row = s.getMeter(m);
    const b = s.latestBinding(m);
    return {
      m,
      identity: row && toHex(row.identityPublicKey), certificate: row && toHex(row.certificate),
      binding: b && [toHex(b.keyId), b.firstSeq], events: s.meterEvents(m).map((e) => [e.event, e.detail]),
    };
  });
}

/**
 * The rotated pair (closed T12, new T13) of `l`: the chain verifies, each carried entry is a copy of a closed-log
 * entry in old-log order, entry 0 and every carried entry have inclusion proofs against the first checkpoint.
 */
function checkRotated(t: Test, l: L, keys: LedgerKeys): void {
  const vkey = parseVerifierKey(keys.verifierKey);
  const closed = l.set.closedLog('2026-11-21T12');
  const finalCp = closed.store.getCheckpoint()!.note;
  const first = l.store.getCheckpoint()!;
  const cp = openCheckpoint(first.note, vkey);
  const entry0 = l.store.getEntry(0n)!;
  const chain = verifyPeriodChain([
    { checkpoint: finalCp },
    { checkpoint: first.note, firstEntry: entry0, firstEntryProof: l.log.inclusionProof(0n, cp.size) },
  ], { verifier: vkey, baseOrigin: BASE });
  t.same(chain.map((p) => p.period), ['2026-11-21T12', '2026-11-21T13'], 'verifyPeriodChain over the rotated logs');
  const carried = decodePreviousLog(entry0).carried;
  t.equal(cp.size, 1n + carried, 'the first checkpoint covers entry 0 and the carried entries');
  const oldSize = closed.store.treeSize();
  const where = new Map(closed.store.getEntries(0n, Number(oldSize)).map((e, i) => [toHex(e), BigInt(i)]));
  let last = -1n;
  let inOrder = true;
  let copies = true;
  let proven = verifyInclusion(leafHash(entry0), 0n, cp.size, l.log.inclusionProof(0n, cp.size), cp.root);
  for (let i = 1n; i <= carried; i++) {
    const e = l.store.getEntry(i)!;
    const at = where.get(toHex(e));
    if (at === undefined) copies = false;
    else if (at <= last) inOrder = false;
    else last = at;
    proven &&= verifyInclusion(leafHash(e), i, cp.size, l.log.inclusionProof(i, cp.size), cp.root);
  }
  t.ok(copies, 'every carried entry is a copy of an entry of the closed log');
  t.ok(inOrder, 'in old-log order');
  t.ok(proven, 'entry 0 and every carried entry: RFC 9162 inclusion proofs verify against the first checkpoint');
}

/** Two ledgers at 12:30 with the same keys, each with its own clock: one to prepare by hand, one to carry whole. */
function twinLedgers(t: Test, keys: LedgerKeys) {
  const clockA = new ManualClock(Date.UTC(2026, 10, 21, 12, 30));
  const clockB = new ManualClock(Date.UTC(2026, 10, 21, 12, 30));
  const dirA = tempDir(t);
  const prepared = ledger(t, dirA, keys, clockA, 0); // 0: nothing automatic; the preparation is started by hand
  const whole = ledger(t, tempDir(t), keys, clockB, 0);
  return { prepared, whole, clockA, clockB, dirA };
}

const METERS = ['A', 'B', 'C', 'D', 'E', 'G'];

t.test('prepared ahead, with key events during the preparation: the snapshot, then the key events since it', async (t) => {
  const keysDir = tempDir(t);
  const keys = loadOrCreateKeys(keysDir, BASE);
  const { prepared, whole, clockA, clockB, dirA } = twinLedgers(t, keys);
  history(prepared);
  history(whole);

  const p = prepared.set.startPreparation();
  t.equal(p.progress().meters, 5, 'the preparation lists the five meters registered so far');
  t.ok(existsSync(join(dirA, 'periods', '2026-11-21T12.carry.sqlite')), 'staged in <period>.carry.sqlite beside the period logs');
  during(prepared, () => p.step(2));
  during(whole, () => {});
  while (!p.complete) p.step(2);
  t.ok(existsSync(join(dirA, 'periods', '2026-11-21T13.staged.sqlite')), 'the next log is written ahead in <next>.staged.sqlite');
  t.same(prepared.set.periods().map((x) => x.period), ['2026-11-21T12'], 'and is not a period log before the boundary');
  t.same([...p.changed].sort(), ['B', 'C', 'E', 'G'], 'the meters with key events since the snapshot');

  for (const [l, c] of [[prepared, clockA], [whole, clockB]] as const) {
    c.ms = Date.UTC(2026, 10, 21, 13, 0, 1);
    l.filler(3); // rotates
  }
  t.equal(prepared.set.preparation, undefined, 'the preparation was used up by the rotation');
  t.notOk(existsSync(join(dirA, 'periods', '2026-11-21T12.carry.sqlite')), 'its staging file deleted');
  t.notOk(existsSync(join(dirA, 'periods', '2026-11-21T13.staged.sqlite')), 'and the staged log renamed into place');
  const a = newLog(prepared);
  const b = newLog(whole);
  t.equal(b.carried, 6n + 2n + 5n, 'whole: six registrations (A..E, G), two revocations (D, C), the latest binding of A, B, C, E and G');
  t.equal(a.carried, 9n + 5n, 'prepared: the snapshot (A..E, D revoked, A, B, C bound), then B\'s rebinding, G, C revoked, E and G bound');
  const hex = (s: string): string => Buffer.from(s).toString('hex');
  t.same(a.entries.slice(10, 15), ['bind B 5', 'reg G', 'revoke C', 'bind E 6', 'bind G 7'].map(hex), 'the key events since the snapshot follow it, in old-log order');
  t.ok(a.entries.indexOf(hex('bind B 2')) < a.entries.indexOf(hex('bind B 5')), 'B\'s staged binding stays, superseded by the later one');
  const oldA = prepared.set.closedLog('2026-11-21T12').store;
  t.same(keyState(prepared.store, METERS), keyState(oldA, METERS), 'each meter resolves to the closed log\'s final key state');
  t.same(keyState(prepared.store, METERS), keyState(whole.store, METERS), 'and to the whole carry\'s');
  checkRotated(t, prepared, keys);
  checkRotated(t, whole, keys);
});

t.test('a log prepared over more than one tile: leaf 0 and the left edge rewritten at the boundary', async (t) => {
  const keys = loadOrCreateKeys(tempDir(t), BASE);
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 30));
  const l = ledger(t, tempDir(t), keys, clock, 0);
  for (let i = 0; i < 300; i++) l.register(`M-${i}`);
  for (let i = 0; i < 300; i += 3) l.bind(`M-${i}`, i % 250, 1n);
  const p = l.set.startPreparation();
  let rebound = 0;
  while (!p.complete) {
    p.step(40);
    l.bind(`M-${rebound * 7}`, 251, 100n); // a rebinding during the preparation, after each batch
    rebound++;
  }
  t.ok(rebound >= 8, `${rebound} batches (8 reading, then writing)`);
  clock.ms = Date.UTC(2026, 10, 21, 13, 0, 1);
  l.filler(1);
  t.equal(decodePreviousLog(l.store.getEntry(0n)!).carried, 300n + 100n + BigInt(rebound), 'the snapshot (300 registrations, 100 bindings), then the rebindings');
  checkRotated(t, l, keys);
  const meters = Array.from({ length: 300 }, (_, i) => `M-${i}`);
  t.same(keyState(l.store, meters), keyState(l.set.closedLog('2026-11-21T12').store, meters), 'every meter resolves to its final key state');
});

t.test('a preparation not complete at the boundary is dropped: the carry is done whole', async (t) => {
  const keys = loadOrCreateKeys(tempDir(t), BASE);
  const { prepared, whole, clockA, clockB } = twinLedgers(t, keys);
  history(prepared);
  history(whole);
  const p = prepared.set.startPreparation();
  p.step(1);
  for (const [l, c] of [[prepared, clockA], [whole, clockB]] as const) {
    c.ms = Date.UTC(2026, 10, 21, 13, 0, 1);
    l.filler(3);
  }
  t.notOk(p.complete);
  t.same(newLog(prepared).entries, newLog(whole).entries, 'the same new log: the plain set, carried whole');
});

t.test('within the lead, the preparation starts by itself and runs in batches between other work', async (t) => {
  const keys = loadOrCreateKeys(tempDir(t), BASE);
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 30));
  const l = ledger(t, tempDir(t), keys, clock, 10 * 60_000);
  for (let i = 0; i < 600; i++) l.register(`M-${i}`);
  t.equal(l.set.preparation, undefined, 'not before the lead');
  clock.ms = Date.UTC(2026, 10, 21, 12, 50, 0);
  l.filler(1);
  const p = l.set.preparation;
  t.ok(p, 'the first append within the lead (10 min before 13:00) starts it');
  t.equal(p!.progress().done, 0, 'nothing is read synchronously on that append');
  let turns = 0;
  while (!p!.complete) {
    l.register(`N-${turns}`); // ingest keeps going between batches
    await new Promise((r) => setImmediate(r));
    turns++;
  }
  t.ok(turns >= 2, `staged over ${turns} turns of the event loop, with appends in between`);
  clock.ms = Date.UTC(2026, 10, 21, 13, 0, 1);
  l.filler(2);
  t.equal(decodePreviousLog(l.store.getEntry(0n)!).carried, BigInt(600 + turns), 'every meter carried, also those registered during the preparation');
});

const committedIndex = (note: string) => indexCommitment(parseCheckpointText(parseNote(note).text));

t.test('prepared ahead: the new log\'s index tree is built during the preparation; the first checkpoint updates it by path to what a build from the store gives, and equals the whole carry\'s when the carried sets are equal', async (t) => {
  const keys = loadOrCreateKeys(tempDir(t), BASE);
  const { prepared, whole, clockA, clockB } = twinLedgers(t, keys);
  for (const l of [prepared, whole]) {
    history(l);
    for (let i = 0; i < 40; i++) l.register(`M-${String(i).padStart(2, '0')}`);
  }
  const p = prepared.set.startPreparation();
  // key events during the lead that change no staged entry (so both carries hold the same entries): a new meter,
  // a revocation, first bindings — each meter's leaf changes after its leaf was put in the staged index tree
  const lead = (l: L, step: () => void): void => {
    step();
    l.register('G');
    step();
    l.revoke('C');
    l.bind('E', 6, 1n);
    l.bind('G', 7, 1n);
    l.bind('M-07', 8, 1n);
  };
  lead(prepared, () => p.step(10));
  lead(whole, () => {});
  while (!p.complete) p.step(10);
  t.equal(p.progress().indexed, 45, 'the staged log\'s index tree holds the 45 meters of the snapshot (G came later)');
  const realOf = IndexTree.of;
  let builds = 0;
  IndexTree.of = (leaves) => (builds++, realOf.call(IndexTree, leaves));
  t.teardown(() => void (IndexTree.of = realOf));
  clockA.ms = Date.UTC(2026, 10, 21, 13, 0, 1);
  prepared.filler(3); // rotates
  t.equal(prepared.set.lastRotation?.prepared, true, 'the rotation used the preparation');
  t.equal(builds, 0, 'no index tree was built from all leaves at the boundary (the old log\'s and the new log\'s checkpoints: updates by path)');
  clockB.ms = Date.UTC(2026, 10, 21, 13, 0, 1);
  whole.filler(3);
  t.ok(builds >= 1, 'the whole carry builds the new log\'s index from its leaves');
  IndexTree.of = realOf;
  const a = newLog(prepared);
  const b = newLog(whole);
  t.same(a.entries, b.entries, 'the same carried entries');
  const first = committedIndex(prepared.store.getCheckpoint()!.note);
  const leaves = prepared.store.meterIndexLeaves();
  t.same([first.meters, toHex(first.root)], [BigInt(leaves.length), toHex(indexRoot(leaves))], 'the first checkpoint\'s meterseal-index/v1 line is indexRoot over the new store\'s leaves');
  const other = committedIndex(whole.store.getCheckpoint()!.note);
  t.same([first.meters, toHex(first.root)], [other.meters, toHex(other.root)], 'and the whole carry\'s first checkpoint commits the same index');
  prepared.bind('M-11', 9, 1n); // later checkpoints keep updating the handed-over tree
  prepared.register('H');
  const next = committedIndex(prepared.log.checkpointNow().note);
  const now = prepared.store.meterIndexLeaves();
  t.same([next.meters, toHex(next.root)], [BigInt(now.length), toHex(indexRoot(now))], 'the next checkpoint too');
});

t.test('prepared ahead with a superseded staged binding: the first checkpoint\'s index is still what the store gives', async (t) => {
  const keys = loadOrCreateKeys(tempDir(t), BASE);
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 30));
  const l = ledger(t, tempDir(t), keys, clock, 0);
  history(l);
  const p = l.set.startPreparation();
  during(l, () => p.step(2));
  while (!p.complete) p.step(2);
  clock.ms = Date.UTC(2026, 10, 21, 13, 0, 1);
  l.filler(3);
  t.equal(l.set.lastRotation?.prepared, true);
  const c = committedIndex(l.store.getCheckpoint()!.note);
  const leaves = l.store.meterIndexLeaves();
  t.same([c.meters, toHex(c.root)], [BigInt(leaves.length), toHex(indexRoot(leaves))], 'indexRoot over the new store\'s leaves (B\'s two bindings, G new)');
});
