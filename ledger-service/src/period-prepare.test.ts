// The carry prepared ahead of the boundary (period-prepare.ts) against the carry done whole at the boundary:
// two data directories driven by the same appends with the same ledger key, one preparing in small batches
// interleaved with key events (a rebinding that supersedes a staged binding, a new meter, a revocation, a
// first binding), one not. The new period logs must be identical byte for byte — entry 0, every carried entry
// in the same order, the first checkpoint — and the boundary must have read only the changed meters again.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import pino from 'pino';
import { decodePreviousLog, generateKeyPair, keyId, utf8 } from '@meterseal/protocol';
import { loadOrCreateKeys, type LedgerKeys } from './keys.js';
import { PeriodLogSet } from './period-set.js';
import { RotatingLog, RotatingStore } from './period-store.js';
import type { AppendEffect } from './store.js';
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

t.test('prepared ahead, with key events during the preparation: the same new log as the carry at the boundary', async (t) => {
  const keysDir = tempDir(t);
  const keys = loadOrCreateKeys(keysDir, BASE);
  const clockA = new ManualClock(Date.UTC(2026, 10, 21, 12, 30));
  const clockB = new ManualClock(Date.UTC(2026, 10, 21, 12, 30));
  const dirA = tempDir(t);
  const prepared = ledger(t, dirA, keys, clockA, 0); // 0: nothing automatic; started by hand below
  const whole = ledger(t, tempDir(t), keys, clockB, 0);
  history(prepared);
  history(whole);

  const p = prepared.set.startPreparation();
  t.equal(p.progress().meters, 5, 'the preparation lists the five meters registered so far');
  t.ok(existsSync(join(dirA, 'periods', '2026-11-21T12.carry.sqlite')), 'staged in <period>.carry.sqlite beside the period logs');
  during(prepared, () => p.step(2));
  during(whole, () => {});
  t.ok(p.complete, 'every listed meter is staged');
  t.same([...p.changed].sort(), ['B', 'C', 'E', 'G'], 'the meters with key events since the preparation began');

  for (const [l, c] of [[prepared, clockA], [whole, clockB]] as const) {
    c.ms = Date.UTC(2026, 10, 21, 13, 0, 1);
    l.filler(3); // rotates
  }
  t.equal(prepared.set.preparation, undefined, 'the preparation was used up by the rotation');
  t.notOk(existsSync(join(dirA, 'periods', '2026-11-21T12.carry.sqlite')), 'and its staging file deleted');
  const a = newLog(prepared);
  const b = newLog(whole);
  t.equal(a.carried, b.carried, 'the same number of carried entries');
  t.equal(a.carried, 6n + 2n + 5n, 'six registrations (A..E, G), two revocations (D, C), the latest binding of A, B, C, E and G');
  t.same(a.entries, b.entries, 'entry 0, every carried entry in the same order, and the entry after them: byte for byte');
  t.equal(a.checkpoint, b.checkpoint, 'the same first checkpoint');
  t.ok(a.entries.includes(Buffer.from('bind B 5').toString('hex')) && !a.entries.includes(Buffer.from('bind B 2').toString('hex')), 'B carries its new binding, not the staged one');
});

t.test('a preparation not complete at the boundary is dropped: the carry is done whole', async (t) => {
  const keys = loadOrCreateKeys(tempDir(t), BASE);
  const clockA = new ManualClock(Date.UTC(2026, 10, 21, 12, 30));
  const clockB = new ManualClock(Date.UTC(2026, 10, 21, 12, 30));
  const prepared = ledger(t, tempDir(t), keys, clockA, 0);
  const whole = ledger(t, tempDir(t), keys, clockB, 0);
  history(prepared);
  history(whole);
  const p = prepared.set.startPreparation();
  p.step(1);
  for (const [l, c] of [[prepared, clockA], [whole, clockB]] as const) {
    c.ms = Date.UTC(2026, 10, 21, 13, 0, 1);
    l.filler(3);
  }
  t.notOk(p.complete);
  t.same(newLog(prepared).entries, newLog(whole).entries, 'the same new log');
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
