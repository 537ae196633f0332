import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { openSqliteStore } from './sqlite-store.js';
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

t.test('SQLite specifics: WAL, synchronous=FULL, values as columns and no reading hash anywhere', async (t) => {
  const dir = tempDir();
  const store = openSqliteStore(dir);
  await store.close();
  const db = new Database(join(dir, 'collector.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  const columns = (table: string): string[] => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
  t.same(columns('readings'), [
    'meter_id', 'seq', 'meter_time_ms', 'agent_time_ms', 'clock_sync', 'status', 'salt', 'key_id', 'signature', 'received_at',
    'record_version', 'meter_identity', 'meter_clock_deviation_min', 'meter_clock_status',
  ]);
  t.same(columns('registers'), ['meter_id', 'seq', 'idx', 'obis', 'value', 'scaler', 'unit', 'raw']);
  const all = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).flatMap((r) => columns(r.name));
  t.notOk(all.some((c) => c.includes('hash')), 'no column holds a hash');
});
