// The collector's schema-2 layout (before schema 3 kept a reading as one row of its bytes): one `readings` row
// of values and one `registers` row per register, exactly as that collector created and filled them. For the
// migration tests (sqlite-migration.test.ts) and the `collector` bench's before/after reference.
import Database from 'better-sqlite3';
import type { Reading } from '@meterseal/protocol';
import { seqKey } from '../sqlite-schema.js';

const SEQ = `TEXT NOT NULL CHECK (length(seq) = 20 AND seq NOT GLOB '*[^0-9]*')`;

/** Schema 1: the reading v1 columns only. */
export const SCHEMA_1_DDL = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE readings (
  meter_id TEXT NOT NULL,
  seq ${SEQ},
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

/** Schema 2: + the reading v2 columns, last (as ALTER TABLE added them to a schema-1 database). */
export const SCHEMA_2_DDL = SCHEMA_1_DDL.replace('received_at TEXT NOT NULL,\n  UNIQUE', `received_at TEXT NOT NULL,
  record_version INTEGER NOT NULL DEFAULT 1 CHECK (record_version IN (1, 2)),
  meter_identity TEXT,
  meter_clock_deviation_min INTEGER CHECK (meter_clock_deviation_min BETWEEN -32768 AND 32767),
  meter_clock_status INTEGER CHECK (meter_clock_status BETWEEN 0 AND 255),
  UNIQUE`).replace("'schema_version', '1'", "'schema_version', '2'");

export interface LegacyRow {
  reading: Reading;
  keyId: Uint8Array;
  signature: Uint8Array;
  receivedAt: string;
}

const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Inserts `rows` into an open schema-2 database the way the schema-2 store did: a row of values, a row per register. */
export function insertSchema2(db: Database.Database, rows: readonly LegacyRow[]): void {
  const reading = db.prepare(`INSERT INTO readings (meter_id, seq, meter_time_ms, agent_time_ms, clock_sync, status, salt, key_id, signature, received_at,
    record_version, meter_identity, meter_clock_deviation_min, meter_clock_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const register = db.prepare(`INSERT INTO registers (meter_id, seq, idx, obis, value, scaler, unit, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  for (const it of rows) {
    const r = it.reading;
    const seq = seqKey(r.seq);
    reading.run(r.meterId, seq, r.meterTimeMs, r.agentTimeMs, r.clockSync, r.status, buf(r.salt), buf(it.keyId), buf(it.signature), it.receivedAt,
      r.version === 1 ? 1 : 2, r.meterIdentity, r.meterClockDeviationMin, r.meterClockStatus);
    r.registers.forEach((g, idx) => register.run(r.meterId, seq, idx, g.obis, g.value.toString(10), g.scaler, g.unit, buf(g.raw)));
  }
}

/** A new schema-2 database at `path` holding `rows` (one transaction). */
export function writeSchema2(path: string, rows: readonly LegacyRow[]): void {
  const db = new Database(path);
  try {
    db.exec(SCHEMA_2_DDL);
    db.transaction(() => insertSchema2(db, rows))();
  } finally {
    db.close();
  }
}
