// The SQLite schema of the collector store. Readings are kept as values, one column per field of the
// Reading record (docs/protocol.md §3), and one row per register; no reading hash is stored anywhere.
//
// uint64 seq (§3) does not fit SQLite's signed 64-bit INTEGER, so seq columns hold exactly 20 decimal digits,
// zero-padded: text order is numeric order, and range queries work on the index.
import type Database from 'better-sqlite3';
import { CollectorError } from './errors.js';

// 2: reading record v2 (docs/protocol.md §3) - record version, meter identity and meter clock detail columns.
export const SCHEMA_VERSION = 2;
const U64_MAX = (1n << 64n) - 1n;

export function seqKey(seq: bigint): string {
  if (seq < 0n || seq > U64_MAX) throw new CollectorError('STORE_FAILED', `seq ${seq} is not a uint64`);
  return seq.toString(10).padStart(20, '0');
}

export function seqFromKey(key: string): bigint {
  return BigInt(key);
}

/**
 * The Reading v2 columns, last in the readings table so that a migrated database has the same column order
 * as a new one. Rows stored before the migration are version 1 readings (the DEFAULT).
 */
const READING_V2_COLUMNS = [
  'record_version INTEGER NOT NULL DEFAULT 1 CHECK (record_version IN (1, 2))',
  'meter_identity TEXT',
  'meter_clock_deviation_min INTEGER CHECK (meter_clock_deviation_min BETWEEN -32768 AND 32767)',
  'meter_clock_status INTEGER CHECK (meter_clock_status BETWEEN 0 AND 255)',
];


/**
 * Brings a database created by an older collector up to SCHEMA_VERSION, in one transaction. Run after DDL
 * (which creates missing tables but never alters existing ones).
 */
export function migrate(db: Database.Database): void {
  const cols = (db.prepare(`PRAGMA table_info(readings)`).all() as { name: string }[]).map((c) => c.name);
  db.transaction(() => {
    if (!cols.includes('record_version')) {
      for (const col of READING_V2_COLUMNS) db.exec(`ALTER TABLE readings ADD COLUMN ${col}`); // schema 1 -> 2
    }
    db.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`)
      .run(String(SCHEMA_VERSION));
  })();
}

const SEQ = `TEXT NOT NULL CHECK (length(seq) = 20 AND seq NOT GLOB '*[^0-9]*')`;

export const DDL = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS readings (
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
  ${READING_V2_COLUMNS.join(',\n  ')},
  UNIQUE (meter_id, seq)
) STRICT;

CREATE TABLE IF NOT EXISTS registers (
  meter_id TEXT NOT NULL,
  seq ${SEQ},
  idx INTEGER NOT NULL,
  obis TEXT NOT NULL,
  value TEXT NOT NULL CHECK (value GLOB '[0-9]*' OR value GLOB '-[0-9]*'),
  scaler INTEGER NOT NULL,
  unit TEXT NOT NULL,
  raw BLOB NOT NULL,
  PRIMARY KEY (meter_id, seq, idx),
  FOREIGN KEY (meter_id, seq) REFERENCES readings (meter_id, seq) ON DELETE CASCADE
) STRICT;

CREATE TABLE IF NOT EXISTS conflicts (
  id INTEGER PRIMARY KEY,
  meter_id TEXT NOT NULL,
  seq ${SEQ},
  reading BLOB NOT NULL,
  key_id BLOB NOT NULL,
  signature BLOB NOT NULL,
  received_at TEXT NOT NULL,
  UNIQUE (meter_id, seq, reading)
) STRICT;

CREATE TABLE IF NOT EXISTS session_keys (
  meter_id TEXT NOT NULL,
  key_id BLOB NOT NULL,
  session_pub BLOB NOT NULL,
  identity_pub BLOB NOT NULL,
  first_seq TEXT NOT NULL CHECK (length(first_seq) = 20),
  created_at_ms INTEGER NOT NULL,
  announcement BLOB NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (meter_id, key_id)
) STRICT;

CREATE TABLE IF NOT EXISTS pending (
  id INTEGER PRIMARY KEY,
  meter_id TEXT NOT NULL,
  key_id BLOB NOT NULL,
  payload BLOB NOT NULL UNIQUE,
  response_topic TEXT,
  correlation_data BLOB,
  received_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS pending_by_key ON pending (meter_id, key_id);

CREATE TABLE IF NOT EXISTS reports (
  id TEXT PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  checkpoint_origin TEXT NOT NULL,
  checkpoint_size TEXT NOT NULL,
  checkpoint_root TEXT NOT NULL,
  matched INTEGER NOT NULL,
  tampered INTEGER NOT NULL,
  missing INTEGER NOT NULL,
  unanchored INTEGER NOT NULL,
  conflicts INTEGER NOT NULL,
  json TEXT NOT NULL
) STRICT;
`;
