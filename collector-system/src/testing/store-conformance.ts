// The CollectorStore contract as tests. Every backend runs this suite (sqlite-store.test.ts today; a
// PostgreSQL store's test will call it the same way).
import type { TAP } from 'tap';
import { bytesEqual, encodeReading, generateKeyPair, keyId, type Reading } from '@meterseal/protocol';
import type { Report } from '../report.js';
import type { CollectorStore, NewReading, SessionKeyRecord } from '../store.js';
import { makeReading } from './fixtures.js';

export interface StoreUnderTest {
  store: CollectorStore;
  /** Closes the store and opens the same data again (durability), if the backend can. */
  reopen?: () => Promise<CollectorStore>;
}

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const AT = '2026-11-21T12:00:00.000Z';

function newReading(reading: Reading, receivedAt = AT): NewReading {
  return { reading, bytes: encodeReading(reading), keyId: new Uint8Array(8).fill(7), signature: new Uint8Array(64).fill(9), receivedAt };
}

function sessionKey(meterId: string, firstSeq: bigint): SessionKeyRecord {
  const session = generateKeyPair().publicKey;
  return {
    meterId, keyId: keyId(session), sessionPublicKey: session, identityPublicKey: generateKeyPair().publicKey,
    firstSeq, createdAtMs: 1_795_262_400_000n, announcement: new Uint8Array([0x11, 0x01, 1, 2, 3]), receivedAt: AT,
  };
}

export function storeConformance(tap: TAP, open: () => Promise<StoreUnderTest>): void {
  const fresh = async (t: { teardown(fn: () => unknown): void }): Promise<StoreUnderTest> => {
    const s = await open();
    t.teardown(() => s.store.close());
    return s;
  };

  tap.test('a stored reading comes back value for value and re-encodes to the delivered bytes', async (t) => {
    const { store } = await fresh(t);
    const r = makeReading('M-1', 5n);
    t.same(await store.insertReadings([newReading(r)]), ['stored']);
    const [back] = await store.readings('M-1', 0n, 10n);
    t.same(back?.reading, r);
    t.ok(bytesEqual(encodeReading(back!.reading), encodeReading(r)), 're-encodes byte for byte');
    t.same(back?.keyId, new Uint8Array(8).fill(7));
    t.same(back?.signature, new Uint8Array(64).fill(9));
    t.equal(back?.receivedAt, AT);
  });

  tap.test('the same reading again is a duplicate; a different one for a used (meter, seq) is a conflict and never overwrites', async (t) => {
    const { store } = await fresh(t);
    const r = makeReading('M-1', 1n);
    const other = { ...makeReading('M-1', 1n, 42n) };
    t.same(await store.insertReadings([newReading(r)]), ['stored']);
    t.same(await store.insertReadings([newReading(r, '2026-11-21T12:00:01.000Z')]), ['duplicate']);
    t.same(await store.insertReadings([newReading(other)]), ['conflict']);
    t.same(await store.insertReadings([newReading(other)]), ['conflict'], 'the same conflicting reading again');
    const [kept] = await store.readings('M-1', 1n, 1n);
    t.same(kept?.reading, r, 'the first reading is kept');
    t.equal(kept?.receivedAt, AT, 'a duplicate does not touch the stored row');
    const conflicts = await store.conflicts();
    t.equal(conflicts.length, 1, 'one conflict row per distinct conflicting reading');
    t.same(conflicts[0]?.bytes, encodeReading(other));
    t.equal(conflicts[0]?.seq, 1n);
    t.same(await store.counts(), { readings: 1, conflicts: 1, pending: 0, sessionKeys: 0, reports: 0 });
  });

  tap.test('a batch is one call with one outcome per item, in order', async (t) => {
    const { store } = await fresh(t);
    const a = makeReading('M-1', 1n);
    const b = makeReading('M-1', 2n);
    const outcomes = await store.insertReadings([newReading(a), newReading(b), newReading(a), newReading(makeReading('M-1', 2n, 1n))]);
    t.same(outcomes, ['stored', 'stored', 'duplicate', 'conflict']);
    t.equal((await store.readings('M-1', 0n, 100n)).length, 2);
  });

  tap.test('idempotent on (meter, seq): a batch delivered twice, in another order, adds nothing; the stored bytes are the delivered ones', async (t) => {
    const { store } = await fresh(t);
    const batch = [1n, 2n, 3n].flatMap((seq) => ['M-a', 'M-b'].map((m) => newReading(makeReading(m, seq))));
    t.same(await store.insertReadings(batch), batch.map(() => 'stored'));
    t.same(await store.insertReadings([...batch].reverse()), batch.map(() => 'duplicate'));
    t.same(await store.counts(), { readings: 6, conflicts: 0, pending: 0, sessionKeys: 0, reports: 0 });
    const back = await store.readings('M-b', 0n, 10n);
    t.same(back.map((s) => s.bytes), batch.filter((b) => b.reading.meterId === 'M-b').map((b) => b.bytes), 'bytes as delivered, in seq order');
    t.ok(back.every((s) => s.undecodable === undefined));
  });

  tap.test('a conflict differing in one salt byte only is still a conflict; the stored bytes stay those of the first', async (t) => {
    const { store } = await fresh(t);
    const r = makeReading('M-c', 9n);
    const twin: Reading = { ...r, salt: Uint8Array.from(r.salt, (b, i) => (i === 15 ? b ^ 1 : b)) };
    const both = [newReading(r), newReading(twin)];
    t.same(await store.insertReadings(both), ['stored', 'conflict'], 'in one batch too');
    t.same(await store.insertReadings([newReading(r)]), ['duplicate']);
    const [kept] = await store.readings('M-c', 9n, 9n);
    t.same(kept?.bytes, both[0]!.bytes);
    t.same((await store.conflicts()).map((c) => c.bytes), [both[1]!.bytes]);
  });

  tap.test('uint64 seq and int64 values keep every bit, and seq ranges order numerically', async (t) => {
    const { store } = await fresh(t);
    const seqs = [U64_MAX, 0n, 10n, 9n, 1n << 63n, 100n];
    const readings = seqs.map((seq) => makeReading('M-64', seq));
    readings[0] = { ...readings[0]!, agentTimeMs: I64_MIN, meterTimeMs: I64_MAX, status: 0xffffffff };
    readings[0]!.registers[0] = { ...readings[0]!.registers[0]!, value: I64_MIN };
    readings[1]!.registers[0] = { ...readings[1]!.registers[0]!, value: I64_MAX };
    t.same(await store.insertReadings(readings.map((r) => newReading(r))), seqs.map(() => 'stored'));
    const all = await store.readings('M-64', 0n, U64_MAX);
    t.same(all.map((s) => s.reading.seq), [0n, 9n, 10n, 100n, 1n << 63n, U64_MAX]);
    t.same(all.at(-1)?.reading, readings[0]);
    t.same(all[0]?.reading, readings[1]);
    t.same((await store.readings('M-64', 9n, 100n)).map((s) => s.reading.seq), [9n, 10n, 100n]);
    t.same((await store.readings('M-64', 0n, U64_MAX, 2)).map((s) => s.reading.seq), [0n, 9n], 'limit');
    t.same(await store.seqRange('M-64'), { min: 0n, max: U64_MAX });
    t.equal(await store.seqRange('nobody'), null);
  });

  tap.test('reading v2 fields (identity, clock deviation, status) and v1 readings keep every bit and their encoding', async (t) => {
    const { store } = await fresh(t);
    const full = { ...makeReading('M-v', 2n), meterIdentity: 'Zähler 0042', meterClockDeviationMin: -32768, meterClockStatus: 255 };
    const other = { ...makeReading('M-v', 4n), meterIdentity: 'x'.repeat(128), meterClockDeviationMin: 32767, meterClockStatus: 0 };
    const none = makeReading('M-v', 3n); // odd fixtures carry no identity or clock detail
    const v1: Reading = { ...makeReading('M-v', 5n), version: 1 };
    t.equal(encodeReading(v1)[1], 1, 'the fixture really is a version 1 record');
    await store.insertReadings([full, other, none, v1].map((r) => newReading(r)));
    const back = await store.readings('M-v', 0n, 10n);
    t.same(back.map((s) => s.reading), [full, none, other, v1]);
    for (const s of back) t.same(encodeReading(s.reading), encodeReading([full, other, none, v1].find((r) => r.seq === s.reading.seq)!), `seq ${s.reading.seq} re-encodes to its bytes`);
    t.equal(back[3]?.reading.version, 1, 'a v1 reading is still v1');
    t.notOk('version' in back[0]!.reading, 'a v2 reading carries no version marker');
  });

  tap.test('registers come back in their stored order with every field', async (t) => {
    const { store } = await fresh(t);
    const r = makeReading('M-2', 3n);
    r.registers = ['1.0.1.8.0.255', '1.0.2.8.0.255', '1.0.14.7.0.255', '1.0.31.7.0.255', '1.0.32.7.0.255'].map((obis, i) => ({
      obis, value: BigInt(i * 1000 - 1500), scaler: i - 2, unit: (['Wh', 'Wh', 'Hz', 'A', 'V'] as const)[i]!, raw: new Uint8Array([i, 0xff, 0]),
    }));
    await store.insertReadings([newReading(r)]);
    t.same((await store.readings('M-2', 3n, 3n))[0]?.reading.registers, r.registers);
  });

  tap.test('meters lists every meter with a reading or a conflict, sorted', async (t) => {
    const { store } = await fresh(t);
    await store.insertReadings([newReading(makeReading('B', 1n)), newReading(makeReading('A', 1n))]);
    t.same(await store.meters(), ['A', 'B']);
  });

  tap.test('session keys: stored once, a repeat is a duplicate, a different key under the same id a conflict', async (t) => {
    const { store } = await fresh(t);
    const k1 = sessionKey('M-1', 0n);
    const k2 = sessionKey('M-1', 100n);
    t.equal(await store.putSessionKey(k2), 'stored');
    t.equal(await store.putSessionKey(k1), 'stored');
    t.equal(await store.putSessionKey({ ...k1, receivedAt: '2026-11-22T00:00:00.000Z' }), 'duplicate');
    t.equal(await store.putSessionKey({ ...k1, firstSeq: 5n }), 'conflict');
    t.same(await store.getSessionKey('M-1', k1.keyId), k1, 'nothing overwritten');
    t.equal(await store.getSessionKey('M-2', k1.keyId), null, 'keys are per meter');
    t.same((await store.sessionKeys('M-1')).map((k) => k.firstSeq), [0n, 100n], 'ordered by firstSeq');
  });

  tap.test('pending deliveries: kept once per payload with the latest reply address, listed per key, deleted by id', async (t) => {
    const { store } = await fresh(t);
    const kid = new Uint8Array(8).fill(1);
    const p = { meterId: 'M-1', keyId: kid, payload: new Uint8Array([1, 2, 3]), responseTopic: 'a', correlationData: null, receivedAt: AT };
    t.equal(await store.addPending(p), true);
    t.equal(await store.addPending({ ...p, responseTopic: 'b', correlationData: new Uint8Array([9]) }), false);
    t.equal(await store.addPending({ ...p, payload: new Uint8Array([4]) }), true);
    t.equal(await store.addPending({ ...p, keyId: new Uint8Array(8).fill(2), payload: new Uint8Array([5]) }), true);
    const list = await store.pendingFor('M-1', kid);
    t.same(list.map((x) => [x.payload, x.responseTopic, x.correlationData]), [
      [new Uint8Array([1, 2, 3]), 'b', new Uint8Array([9])],
      [new Uint8Array([4]), 'a', null],
    ]);
    t.equal(await store.deletePending([list[0]!.id, list[0]!.id, 999_999]), 1);
    t.equal((await store.counts()).pending, 2);
  });

  tap.test('reports are kept whole and listed newest first', async (t) => {
    const { store } = await fresh(t);
    const report = (id: string, startedAt: string): Report => ({
      id, startedAt, finishedAt: startedAt, checkpoint: { origin: 'o', size: '3', rootHex: 'ab'.repeat(32) },
      counts: { matched: 1, tampered: 1, missing: 0, unanchored: 0, conflicts: 0 },
      items: [{ meterId: 'M-1', seq: '18446744073709551615', outcome: 'tampered', collectedHash: '00'.repeat(32), ledgerHash: '11'.repeat(32) }],
    });
    await store.saveReport(report('r-1', '2026-11-21T12:00:00.000Z'));
    await store.saveReport(report('r-2', '2026-11-21T13:00:00.000Z'));
    t.same(await store.getReport('r-1'), report('r-1', '2026-11-21T12:00:00.000Z'));
    t.equal(await store.getReport('r-3'), null);
    t.same(await store.reportIds(), ['r-2', 'r-1']);
  });

  tap.test('what was committed survives closing and reopening', async (t) => {
    const s = await open();
    if (!s.reopen) {
      await s.store.close();
      t.pass('this backend cannot reopen: durability not checked here');
      return;
    }
    const r = makeReading('M-9', 77n);
    await s.store.insertReadings([newReading(r)]);
    const again = await s.reopen();
    t.teardown(() => again.close());
    t.same((await again.readings('M-9', 77n, 77n))[0]?.reading, r);
  });
}
