import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { encodeReading } from '@meterseal/protocol';
import { openSqliteStore } from './sqlite-store.js';
import { seqKey } from './sqlite-schema.js';
import { makeReading } from './testing/fixtures.js';
import { storeConformance } from './testing/store-conformance.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'collector-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

storeConformance(t, async () => {
  const dir = tempDir();
  const store = openSqliteStore(dir);
  return {
    store,
    reopen: async () => {
      await store.close();
      return openSqliteStore(dir);
    },
  };
});

t.test('SQLite specifics: WAL, synchronous=FULL, one row of canonical bytes per reading and no reading hash anywhere', async (t) => {
  const dir = tempDir();
  const store = openSqliteStore(dir);
  const reading = makeReading('M-S', 7n);
  const bytes = encodeReading(reading);
  await store.insertReadings([{ reading, bytes, keyId: new Uint8Array(8).fill(1), signature: new Uint8Array(64).fill(2), receivedAt: 'x' }]);
  await store.close();
  const db = new Database(join(dir, 'collector.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  const columns = (table: string): string[] => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
  t.same(columns('readings'), ['meter_id', 'seq', 'key_id', 'signature', 'received_at', 'reading']);
  t.same(columns('registers'), [], 'no registers table: the values live in the stored bytes');
  const rows = db.prepare(`SELECT * FROM readings`).all() as { reading: Buffer; seq: string }[];
  t.equal(rows.length, 1, 'one row for the reading');
  t.same(new Uint8Array(rows[0]!.reading), bytes, 'the row holds the delivered canonical bytes');
  t.equal(rows[0]!.seq, seqKey(7n));
  const all = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).flatMap((r) => columns(r.name));
  t.notOk(all.some((c) => c.includes('hash')), 'no column holds a hash');
});

t.test('bytes that are not the encoding of the reading they come with are refused, naming the reading', async (t) => {
  const dir = tempDir();
  const store = openSqliteStore(dir);
  t.teardown(() => store.close());
  const reading = makeReading('M-S', 7n);
  const item = (bytes: Uint8Array) => ({ reading, bytes, keyId: new Uint8Array(8), signature: new Uint8Array(64), receivedAt: 'x' });
  await t.rejects(store.insertReadings([item(encodeReading(makeReading('M-S', 8n)))]), { code: 'STORE_FAILED', cause: { message: /M-S\/7/ } });
  await t.rejects(store.insertReadings([item(encodeReading(makeReading('M-T', 7n)))]), { code: 'STORE_FAILED' }, 'another meter');
  await t.rejects(store.insertReadings([item(new Uint8Array([1, 2, 3]))]), { code: 'STORE_FAILED' }, 'not a reading');
  t.equal((await store.counts()).readings, 0, 'nothing stored: the batch is one transaction');
});

t.test('hasReadings(n) tells whether at least n readings are stored', async (t) => {
  const store = openSqliteStore(tempDir());
  t.teardown(() => store.close());
  t.ok(store.hasReadings(0));
  t.notOk(store.hasReadings(1), 'empty');
  await store.insertReadings([1n, 2n, 3n].map((seq) => {
    const reading = makeReading('M-H', seq);
    return { reading, bytes: encodeReading(reading), keyId: new Uint8Array(8), signature: new Uint8Array(64), receivedAt: 'x' };
  }));
  t.ok(store.hasReadings(3));
  t.notOk(store.hasReadings(4));
});
