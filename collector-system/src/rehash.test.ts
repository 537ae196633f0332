// Re-hashing for reconciliation (rehash.ts, rehash-core.ts): worker threads, the store's own connection and
// the generic StoredReading path give the same leaves — each the meterLeafHash of the anchor the meter signed,
// over SHA-256 of the stored bytes — and an edit at rest changes exactly the edited reading's leaf (bytes that
// are no longer a reading of that meter and seq give none).
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { encodeReading, meterLeafHash, readingHash, rootOfLeaves, toHex, type Reading } from '@meterseal/protocol';
import { collectLeaves, leafView, type MeterLeaves } from './rehash.js';
import { leavesOfStored } from './rehash-core.js';
import { editStoredReading } from './insider.js';
import { openSqliteStore } from './sqlite-store.js';
import type { CollectorStore, StoredReading } from './store.js';
import { makeReading } from './testing/fixtures.js';
import { tempDir } from './testing/harness.js';

const AT = '2026-11-21T12:00:00.000Z';
const keyIdOf = (m: number): Uint8Array => new Uint8Array(8).fill(m + 1);

async function collect(store: CollectorStore, meters: string[], workers: number): Promise<MeterLeaves[]> {
  const out: MeterLeaves[] = [];
  for await (const l of collectLeaves(store, meters, { workers })) out.push(l);
  return out;
}

const hex = (l: MeterLeaves): string[] => leafView(l).mine.map((m) => `${m.seq}:${m.leafHash ? toHex(m.leafHash) : '-'}:${m.readingHash ? toHex(m.readingHash) : '-'}`);

t.test('workers, the store connection and StoredReadings give the leaves of the anchors the meters signed; edits at rest show', async (t) => {
  const dir = tempDir(t);
  const store = openSqliteStore(dir);
  t.teardown(() => store.close());
  const meters = ['M-01', 'M-02', 'M-03', 'M-04', 'M-05'];
  const originals = new Map<string, Reading[]>();
  for (const [m, meterId] of meters.entries()) {
    const readings = Array.from({ length: 40 + m }, (_, i) => makeReading(meterId, BigInt(3 + i * (m + 1))));
    if (m === 2) readings.push({ ...makeReading(meterId, 500n), version: 1, meterTimeMs: null, meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null });
    originals.set(meterId, readings);
    const outcomes = await store.insertReadings(readings.map((reading) => ({ reading, bytes: encodeReading(reading), keyId: keyIdOf(m), signature: new Uint8Array(64), receivedAt: AT })));
    t.ok(outcomes.every((o) => o === 'stored'));
  }

  const expected = (meterId: string): string[] => {
    const m = meters.indexOf(meterId);
    return originals.get(meterId)!.map((r) => {
      const h = readingHash(encodeReading(r));
      return `${r.seq}:${toHex(meterLeafHash({ meterId, seq: r.seq, keyId: keyIdOf(m), readingHash: h }))}:${toHex(h)}`;
    });
  };
  const clean = await collect(store, [...meters, 'M-none'], 2);
  t.same(clean.map((l) => l.meterId), [...meters, 'M-none'], 'in the order asked, a meter without readings included');
  for (const l of clean.slice(0, -1)) {
    t.same(hex(l), expected(l.meterId), `${l.meterId}: leaves of the anchors signed (the v1 reading keeps its version)`);
    t.equal(toHex(l.root!), toHex(rootOfLeaves(leafView(l).mine.map((m) => m.leafHash!))), `${l.meterId}: root over all its leaves`);
    t.same([...l.agentTimes], originals.get(l.meterId)!.map((r) => r.agentTimeMs));
  }
  t.equal(clean[5]!.count, 0);
  t.equal(clean[5]!.root, null);

  // an insider edits the stored bytes at rest: a value on M-02, bytes cut short (no longer a reading) on M-04,
  // a register removed on M-05, a unit code the protocol does not know on M-01 (still a reading's head)
  t.ok(editStoredReading(store, 'M-02', 5n, (r) => ({ ...r, registers: r.registers.map((g, i) => (i === 0 ? { ...g, value: 1n } : g)) })));
  t.ok(editStoredReading(store, 'M-04', 7n, (_r, b) => b.subarray(0, 12)));
  t.ok(editStoredReading(store, 'M-05', 8n, (r) => ({ ...r, registers: r.registers.slice(0, 1) })));
  t.ok(editStoredReading(store, 'M-01', 4n, (_r, b) => { const e = b.slice(); e[e.length - 16 - 1 - 4 - 1] = 0xee; return e; }));
  t.notOk(editStoredReading(store, 'M-01', 999n, (r) => r), 'no such reading');

  const viaWorkers = await collect(store, meters, 2);
  const viaStore = await collect(store, meters, 0);
  const viaStored: MeterLeaves[] = [];
  for (const meterId of meters) viaStored.push(leavesOfStored(meterId, (await store.readings(meterId, 0n, 1n << 40n, 1e9)) as StoredReading[]));
  for (const [i, l] of viaWorkers.entries()) {
    t.same(hex(l), hex(viaStore[i]!), `${l.meterId}: workers = the store's own connection`);
    t.same(hex(l), hex(viaStored[i]!), `${l.meterId}: workers = the StoredReading path`);
    const want = expected(l.meterId);
    const got = hex(l);
    const differ = got.flatMap((g, j) => (g === want[j] ? [] : [g.split(':')[0]]));
    const edited = { 'M-01': ['4'], 'M-02': ['5'], 'M-04': ['7'], 'M-05': ['8'] }[l.meterId] ?? [];
    t.same(differ, edited, `${l.meterId}: exactly the edited readings' leaves changed`);
    t.equal(l.root === null, l.meterId === 'M-04', `${l.meterId}: no root only where a reading no longer encodes`);
  }
  t.equal(viaWorkers[3]!.ok[leafView(viaWorkers[3]!).mine.findIndex((m) => m.seq === 7n)], 0, 'the broken reading has no leaf');
});

t.test('an aborted run stops and its workers end', async (t) => {
  const dir = tempDir(t);
  const store = openSqliteStore(dir);
  t.teardown(() => store.close());
  const meters = Array.from({ length: 12 }, (_, i) => `A-${i}`);
  for (const meterId of meters) {
    await store.insertReadings([1n, 2n].map((s) => { const reading = makeReading(meterId, s); return { reading, bytes: encodeReading(reading), keyId: keyIdOf(0), signature: new Uint8Array(64), receivedAt: AT }; }));
  }
  const ac = new AbortController();
  const seen: string[] = [];
  await t.rejects(async () => {
    for await (const l of collectLeaves(store, meters, { workers: 2, signal: ac.signal })) {
      seen.push(l.meterId);
      if (seen.length === 3) ac.abort();
    }
  }, { name: 'AbortError' });
  t.same(seen, meters.slice(0, 3));
});

t.test('a database that cannot be read fails the run with STORE_FAILED, not a hang', async (t) => {
  const dir = tempDir(t);
  const store = openSqliteStore(dir);
  t.teardown(() => store.close());
  const reading = makeReading('B-1', 1n);
  await store.insertReadings([{ reading, bytes: encodeReading(reading), keyId: keyIdOf(0), signature: new Uint8Array(64), receivedAt: AT }]);
  const db = new Database(join(dir, 'collector.sqlite'));
  db.exec('ALTER TABLE readings RENAME TO moved'); // the worker's query fails to prepare
  db.close();
  await t.rejects(collect(store, ['B-1'], 2), { code: 'STORE_FAILED' });
});
