// The period log set without the network (period-set.ts, period-carry.ts, period-store.ts): what is carried
// (registrations, operator events, only the LATEST binding; in the old log's order), a revoked meter stays
// revoked, the store effects previous-log and carried-binding, and appends going to the period of the clock.
import t from 'tap';
import pino from 'pino';
import { decodePreviousLog, generateKeyPair, keyId, utf8 } from '@meterseal/protocol';
import { loadOrCreateKeys } from './keys.js';
import { PeriodLogSet } from './period-set.js';
import { RotatingLog, RotatingStore } from './period-store.js';
import { revocationOf } from './revocation.js';
import type { AppendEffect } from './store.js';
import { ManualClock, tempDir } from './testing/harness.js';

const id = generateKeyPair();
const reg = (meterId: string): AppendEffect => ({
  kind: 'registration',
  meter: { meterId, identityPublicKey: id.publicKey, registeredAtMs: 1, certificate: utf8.encode(`cert ${meterId}`), certificateSignature: new Uint8Array(64) },
});
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

t.test('a rotation carries registrations, operator events and the latest binding; appends follow the clock', async (t) => {
  const dataDir = tempDir(t);
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 23, 50));
  const keys = loadOrCreateKeys(dataDir, 'unit.test/ledger');
  const set = PeriodLogSet.open({ dataDir, baseOrigin: 'unit.test/ledger', unit: 'month', keys, now: clock.now, logger: pino({ level: 'silent' }) });
  const store = new RotatingStore(set);
  t.teardown(() => store.close());
  const log = new RotatingLog(set, store, keys.noteSigner, 'unit.test/ledger');
  t.equal(log.origin, 'unit.test/ledger', 'the log\'s name is the base origin (certificates, promises)');
  t.equal(set.current.origin, 'unit.test/ledger/2026-11', 'its checkpoints name the period');

  const e = (s: string): Uint8Array => utf8.encode(s);
  log.append(e('reg A'), reg('A')); // 0
  log.append(e('auth A 1'), { kind: 'auth', meterId: 'A', passed: true, atMs: 1 }); // 1
  log.append(e('bind A 1'), { kind: 'binding', binding: { meterId: 'A', keyId: bytes(8, 1), sessionPublicKey: bytes(32, 1), firstSeq: 1n }, authLeafIndex: 1n }); // 2
  log.append(e('reg R'), reg('R')); // 3
  log.append(e('auth A 2'), { kind: 'auth', meterId: 'A', passed: true, atMs: 2 }); // 4
  log.append(e('bind A 2'), { kind: 'binding', binding: { meterId: 'A', keyId: bytes(8, 2), sessionPublicKey: bytes(32, 2), firstSeq: 50n }, authLeafIndex: 4n }); // 5
  log.append(e('revoke R'), { kind: 'meter-event', event: { meterId: 'R', event: 'revoked', identityKeyId: keyId(id.publicKey), detail: 'stolen', atMs: 3 } }); // 6
  t.ok(revocationOf(store, store.getMeter('R')!), 'R is revoked in November');
  const novemberSize = log.size;
  t.equal(novemberSize, 7n);

  clock.ms = Date.UTC(2026, 11, 1, 0, 0, 0); // the first millisecond of December, UTC
  const idx = log.append(e('auth A 3'), { kind: 'auth', meterId: 'A', passed: false, atMs: 4 });
  t.equal(set.current.origin, 'unit.test/ledger/2026-12', 'the append went to the new period');
  const first = decodePreviousLog(log.entry(0n)!);
  t.equal(first.carried, 4n, 'reg A, reg R, the latest binding of A, the revocation of R');
  t.equal(idx, 5n, 'after entry 0 and the carried entries');
  t.same([1n, 2n, 3n, 4n].map((i) => utf8.decode(log.entry(i)!)), ['reg A', 'reg R', 'bind A 2', 'revoke R'], 'copies, in the old log\'s order');
  t.equal(first.closedAtMs, BigInt(clock.ms));

  t.equal(store.getBinding('A', bytes(8, 1)), undefined, 'the superseded binding is not carried');
  t.match(store.latestBinding('A'), { firstSeq: 50n, leafIndex: 3n }, 'the latest binding, at its carried index');
  t.equal(store.getMeter('A')?.registrationIndex, 1n);
  t.ok(revocationOf(store, store.getMeter('R')!), 'R stays revoked in December');
  t.equal(store.unusedAuthPass('A', 0), undefined, 'authentications are not carried: a new binding needs a new one');
  t.same(store.meterIndexLeaves().map((l) => l.meterId), ['A', 'R'], 'both meters are in the new index');

  const periods = set.periods();
  t.same(periods.map((p) => [p.period, p.closed, p.size]), [['2026-11', true, novemberSize], ['2026-12', false, 6n]]);
  t.equal(decodePreviousLog(log.entry(0n)!).checkpoint, periods[0]!.finalCheckpoint);
  t.match(store.counters(), { registrations: 2, 'period.rotations': 1, 'period.carried-bindings': 1, 'auth.failed': 1 }, 'counters over periods; copies not counted as registrations');
  t.throws(() => set.closedStore('2026-11')!.append({ index: novemberSize, entry: e('late'), effect: { kind: 'auth-summary', failures: 0 } }), 'the closed log is read-only');
});
