// Old layouts -> schema 3 (sqlite-migration.ts): a collector database written with one row of values per reading
// and one per register (schema 1: reading v1 columns only; schema 2: + reading v2 columns) opens with each
// reading as one row of its canonical bytes — byte for byte what the meter signed — and opening it again, or
// killing the migration part way, loses nothing.
import t from 'tap';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { encodeReading, type Reading } from '@meterseal/protocol';
import { spawn } from 'node:child_process';
import { migrate } from './sqlite-migration.js';
import { openSqliteStore } from './sqlite-store.js';
import { SCHEMA_VERSION, seqKey } from './sqlite-schema.js';
import { makeReading } from './testing/fixtures.js';
import { SCHEMA_1_DDL, writeSchema2 } from './testing/legacy-layout.js';

t.test('a schema-1 database migrates to the current schema and its v1 readings become the v1 bytes the meter signed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'collector-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const old = new Database(join(dir, 'collector.sqlite'));
  old.exec(SCHEMA_1_DDL);
  const v1: Reading = { ...makeReading('M-old', 3n), version: 1 }; // odd fixture: no v2 fields
  const v1Bytes = encodeReading(v1);
  old.prepare(`INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    v1.meterId, seqKey(v1.seq), v1.meterTimeMs, v1.agentTimeMs, v1.clockSync, v1.status, Buffer.from(v1.salt), Buffer.alloc(8, 7), Buffer.alloc(64, 9), '2026-11-21T12:00:00.000Z',
  );
  v1.registers.forEach((g, idx) => old.prepare(`INSERT INTO registers VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
    v1.meterId, seqKey(v1.seq), idx, g.obis, g.value.toString(), g.scaler, g.unit, Buffer.from(g.raw),
  ));
  old.close();

  const store = openSqliteStore(dir);
  const v2 = makeReading('M-old', 4n); // even fixture: identity and clock detail
  t.same(await store.insertReadings([{ reading: v2, bytes: encodeReading(v2), keyId: new Uint8Array(8), signature: new Uint8Array(64), receivedAt: 'x' }]), ['stored']);
  const back = await store.readings('M-old', 0n, 10n);
  await store.close();
  t.same(back.map((s) => s.reading), [v1, v2]);
  t.same(back[0]!.bytes, v1Bytes, 'the pre-migration reading is stored as the v1 bytes the meter signed');
  t.equal(encodeReading(back[1]!.reading)[1], 2);

  const db = new Database(join(dir, 'collector.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  t.equal((db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string }).value, String(SCHEMA_VERSION));
  t.equal(SCHEMA_VERSION, 3);
  const again = openSqliteStore(dir); // a second open is a no-op migration
  t.same((await again.readings('M-old', 0n, 10n)).map((s) => s.reading), [v1, v2]);
  await again.close();
});

/** Writes `readings` the way the schema-2 collector did: a row of values, a row per register. */
function writeOld(path: string, readings: Reading[]): void {
  writeSchema2(path, readings.map((reading) => ({ reading, keyId: new Uint8Array(8).fill(7), signature: new Uint8Array(64).fill(9), receivedAt: '2026-11-21T12:00:00.000Z' })));
}

t.test('a schema-2 database: every reading becomes one row of its canonical bytes; a row edited beyond encoding is kept as evidence', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'collector-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'collector.sqlite');
  const readings: Reading[] = [];
  for (const m of ['M-a', 'M-b', 'M-c']) for (let s = 1n; s <= 7n; s++) readings.push(makeReading(m, s)); // odd: no v2 fields, even: all of them
  readings.push({ ...makeReading('M-a', 9n), version: 1 });
  writeOld(path, readings);
  const raw = new Database(path);
  raw.prepare(`UPDATE registers SET unit = 'parsec' WHERE meter_id = 'M-b' AND seq = ? AND idx = 1`).run(seqKey(4n)); // edited at rest, long ago
  raw.close();

  const store = openSqliteStore(dir);
  t.teardown(() => store.close());
  for (const m of ['M-a', 'M-c']) {
    const back = await store.readings(m, 0n, 100n);
    const want = readings.filter((r) => r.meterId === m);
    t.same(back.map((s) => s.bytes), want.map((r) => encodeReading(r)), `${m}: the bytes the meter signed, in seq order`);
    t.same(back.map((s) => s.reading), want, `${m}: values decoded from them`);
    t.same(back[0]!.keyId, new Uint8Array(8).fill(7));
    t.same(back[0]!.signature, new Uint8Array(64).fill(9));
  }
  const b = await store.readings('M-b', 0n, 100n);
  t.equal(b.length, 7, 'no reading dropped');
  t.equal(b[3]!.bytes.length, 0, 'the edited reading: empty bytes, which match no ledger hash');
  t.match(b[3]!.undecodable, /decode/);
  t.equal(b[3]!.reading.seq, 4n);
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  const evidence = db.prepare(`SELECT meter_id, seq, old_values, error FROM legacy_unencodable`).all() as { meter_id: string; seq: string; old_values: string; error: string }[];
  t.equal(evidence.length, 1);
  t.equal(evidence[0]!.seq, seqKey(4n));
  t.match(evidence[0]!.old_values, /parsec/, 'its old values kept as they were');
  t.equal(db.prepare(`SELECT count(*) FROM sqlite_master WHERE name IN ('registers', 'readings_v3')`).pluck().get(), 0, 'the old tables are gone');
  t.equal(db.prepare(`SELECT count(*) FROM readings`).pluck().get(), readings.length);
  const again = new Database(path).defaultSafeIntegers(true);
  t.equal(migrate(again), 0, 'migrating again converts nothing');
  again.close();
  t.equal((await store.readings('M-a', 0n, 100n)).length, 8);
});

t.test('a migration killed part way leaves the old database or the new one, never a mix: the next open finishes it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'collector-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'collector.sqlite');
  const readings: Reading[] = [];
  for (let m = 0; m < 20; m++) for (let s = 1n; s <= 1000n; s++) readings.push(makeReading(`K-${m}`, s));
  writeOld(path, readings);
  // kill once the migration has written to the WAL (part way), then once after it finished; the next open completes it
  for (const [round, when] of (['writing', 'writing', 'done'] as const).entries()) {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', `import('${new URL('./sqlite-store.ts', import.meta.url).href}').then((m) => { process.stdout.write('open\\n'); m.openSqliteStore(${JSON.stringify(dir)}); process.stdout.write('done\\n'); setInterval(() => {}, 1000); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    for (let waited = 0; waited < 60_000; waited += 5) {
      if (when === 'done' ? out.includes('done') : out.includes('open') && existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 64 * 1024) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const db = new Database(path, { readonly: true });
    const cols = (db.prepare(`PRAGMA table_info(readings)`).all() as { name: string }[]).map((c) => c.name);
    const registers = db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'registers'`).pluck().get();
    t.ok(cols.includes('reading') ? registers === 0 : registers === 1 && cols.includes('salt'), `round ${round}: ${cols.includes('reading') ? 'new' : 'old'} layout, whole`);
    t.equal(db.prepare(`SELECT count(*) FROM readings`).pluck().get(), readings.length, `round ${round}: every reading there`);
    db.close();
  }
  const store = openSqliteStore(dir);
  t.teardown(() => store.close());
  const back = await store.readings('K-7', 0n, 2000n);
  t.same(back.map((s) => s.bytes), readings.filter((r) => r.meterId === 'K-7').map((r) => encodeReading(r)));
});
