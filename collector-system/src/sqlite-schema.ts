// The SQLite schema of the collector store. Each reading is ONE row: its canonical encoding (docs/protocol.md §3,
// the bytes the meter signed, which hold every value of the reading) plus the columns it is found by and the
// delivery facts that are not in those bytes (key id, signature, arrival). No reading hash is stored anywhere:
// reconciliation hashes the stored bytes again on every run.
//
// uint64 seq (§3) does not fit SQLite's signed 64-bit INTEGER, so seq columns hold exactly 20 decimal digits,
// zero-padded: text order is numeric order, and range queries work on the index.
// Older layouts are brought up to this one by sqlite-migration.ts.
import { CollectorError } from './errors.js';

// 2: reading record v2 (docs/protocol.md §3) - record version, meter identity and meter clock detail columns.
// 3: one row per reading, its canonical bytes in `reading` (the registers table and value columns are gone).
export const SCHEMA_VERSION = 3;
const U64_MAX = (1n << 64n) - 1n;

export function seqKey(seq: bigint): string {
  if (seq < 0n || seq > U64_MAX) throw new CollectorError('STORE_FAILED', `seq ${seq} is not a uint64`);
  return seq.toString(10).padStart(20, '0');
}

export function seqFromKey(key: string): bigint {
  return BigInt(key);
}

const SEQ = `TEXT NOT NULL CHECK (length(seq) = 20 AND seq NOT GLOB '*[^0-9]*')`;

/**
 * The readings table (schema 3), under `name` (the migration builds it aside, then renames it). WITHOUT ROWID:
 * the rows are the (meter_id, seq) B-tree itself — one tree written per reading instead of a table and its
 * unique index, and a meter's readings lie together for the re-hash scan (https://www.sqlite.org/withoutrowid.html).
 */
export function readingsTable(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
  meter_id TEXT NOT NULL,
  seq ${SEQ},
  key_id BLOB NOT NULL,
  signature BLOB NOT NULL,
  received_at TEXT NOT NULL,
  reading BLOB NOT NULL,
  PRIMARY KEY (meter_id, seq)
) STRICT, WITHOUT ROWID;`;
}

export const DDL = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

${readingsTable('readings')}

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
