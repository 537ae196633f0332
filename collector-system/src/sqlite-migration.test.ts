// Schema 1 -> 2 (reading record v2, docs/protocol.md §3): a collector database written before v2 opens,
// gains the v2 columns, keeps its v1 readings byte for byte, and stores v2 readings beside them.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { encodeReading, type Reading } from '@meterseal/protocol';
import { openSqliteStore } from './sqlite-store.js';
import { SCHEMA_VERSION, seqKey } from './sqlite-schema.js';
import { makeReading } from './testing/fixtures.js';

// The schema-1 readings table exactly as the collector created it before reading v2.
const SCHEMA_1_READINGS = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE readings (
  meter_id TEXT NOT NULL,
  seq TEXT NOT NULL CHECK (length(seq) = 20 AND seq NOT GLOB '*[^0-9]*'),
  meter_time_ms INTEGER,
  agent_time_ms INTEGER NOT NULL,
  clock_sync INTEGER NOT NULL,
  status INTEGER NOT NULL,
  salt BLOB NOT NULL,
  key_id BLOB NOT NULL,
  signature BLOB NOT NULL,
  received_at TEXT NOT NULL,
  UNIQUE (meter_id, seq)
) STRICT;
CREATE TABLE registers (
  meter_id TEXT NOT NULL,
  seq TEXT NOT NULL,
  idx INTEGER NOT NULL,
  obis TEXT NOT NULL,
  value TEXT NOT NULL,
  scaler INTEGER NOT NULL,
  unit TEXT NOT NULL,
  raw BLOB NOT NULL,
  PRIMARY KEY (meter_id, seq, idx),
  FOREIGN KEY (meter_id, seq) REFERENCES readings (meter_id, seq) ON DELETE CASCADE
) STRICT;
INSERT INTO meta (key, value) VALUES ('schema_version', '1');
`;

t.test('a schema-1 database migrates to the current schema and its v1 readings still re-encode to their bytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'collector-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const old = new Database(join(dir, 'collector.sqlite'));
  old.exec(SCHEMA_1_READINGS);
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
  t.same(encodeReading(back[0]!.reading), v1Bytes, 'the pre-migration reading re-encodes to the v1 bytes the meter signed');
  t.equal(encodeReading(back[1]!.reading)[1], 2);

  const db = new Database(join(dir, 'collector.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  t.equal((db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string }).value, String(SCHEMA_VERSION));
  t.equal(SCHEMA_VERSION, 2);
  const again = openSqliteStore(dir); // a second open is a no-op migration
  t.same((await again.readings('M-old', 0n, 10n)).map((s) => s.reading), [v1, v2]);
  await again.close();
});
