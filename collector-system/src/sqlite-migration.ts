// Brings a collector database written by an older collector up to the current schema (sqlite-schema.ts):
//   schema 1 (reading v1 columns) and schema 2 (+ reading v2 columns) kept a reading as one `readings` row of
//   values and one `registers` row per register; schema 3 keeps it as ONE row holding its canonical bytes.
// Each old reading is rebuilt from its stored values exactly as the old store read it back (a v1 reading keeps
// its version) and encoded with the protocol's encodeReading, i.e. the bytes reconciliation used to hash. The
// whole conversion is one IMMEDIATE transaction: killed at any point, the database is the old one, and the next
// open does it again; on a database already converted it changes nothing.
//
// A row whose values no longer encode (edited at rest before the migration) cannot become bytes: it is kept
// as a reading row with EMPTY bytes (which match no ledger hash, so reconciliation reports it as it did
// before) and its old values are kept as JSON in `legacy_unencodable`, evidence for whoever investigates.
import type Database from 'better-sqlite3';
import { encodeReading, type ClockSyncState, type Reading, type Unit } from '@meterseal/protocol';
import { readingsTable, SCHEMA_VERSION } from './sqlite-schema.js';

type Row = Record<string, unknown>;
const PAGE = 5000;
const num = (v: unknown): number => Number(v as bigint);
const bytes = (v: unknown): Uint8Array => new Uint8Array(v as Buffer);

const LEGACY_UNENCODABLE = `CREATE TABLE IF NOT EXISTS legacy_unencodable (
  meter_id TEXT NOT NULL,
  seq TEXT NOT NULL,
  old_values TEXT NOT NULL,
  error TEXT NOT NULL,
  PRIMARY KEY (meter_id, seq)
) STRICT`;

function columns(db: Database.Database, table: string): string[] {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
}

/** An old-layout reading row and its register rows (stored index order) as the Reading they held. */
export function legacyReading(r: Row, regs: Row[]): Reading {
  const reading: Reading = {
    meterId: r.meter_id as string,
    seq: BigInt(r.seq as string),
    meterTimeMs: (r.meter_time_ms as bigint | null) ?? null,
    meterIdentity: (r.meter_identity as string | null) ?? null,
    meterClockDeviationMin: r.meter_clock_deviation_min === null ? null : num(r.meter_clock_deviation_min),
    meterClockStatus: r.meter_clock_status === null ? null : num(r.meter_clock_status),
    agentTimeMs: r.agent_time_ms as bigint,
    clockSync: num(r.clock_sync) as ClockSyncState,
    status: num(r.status),
    registers: regs.map((g) => ({ obis: g.obis as string, value: BigInt(g.value as string), scaler: num(g.scaler), unit: g.unit as Unit, raw: bytes(g.raw) })),
    salt: bytes(r.salt),
  };
  // a v1 reading keeps its version so that its encoding is the bytes (and hash) the meter signed
  return num(r.record_version) === 1 ? { version: 1, ...reading } : reading;
}

const jsonValues = (r: Row, regs: Row[]): string =>
  JSON.stringify({ reading: r, registers: regs }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));

/** Schema 1/2 -> 3 inside the caller's transaction. Returns how many readings were converted. */
function convert(db: Database.Database, cols: string[]): number {
  const v2 = cols.includes('record_version');
  const select = v2
    ? 'meter_id, seq, meter_time_ms, agent_time_ms, clock_sync, status, salt, key_id, signature, received_at, record_version, meter_identity, meter_clock_deviation_min, meter_clock_status'
    : 'meter_id, seq, meter_time_ms, agent_time_ms, clock_sync, status, salt, key_id, signature, received_at, 1 AS record_version, NULL AS meter_identity, NULL AS meter_clock_deviation_min, NULL AS meter_clock_status';
  db.exec(`DROP TABLE IF EXISTS readings_v3; ${readingsTable('readings_v3')}; ${LEGACY_UNENCODABLE}`);
  const meters = (db.prepare('SELECT DISTINCT meter_id FROM readings ORDER BY meter_id').all() as Row[]).map((r) => r.meter_id as string);
  const page = db.prepare(`SELECT ${select} FROM readings WHERE meter_id = ? AND seq > ? ORDER BY seq LIMIT ${PAGE}`);
  const regsOf = db.prepare('SELECT seq, obis, value, scaler, unit, raw FROM registers WHERE meter_id = ? AND seq BETWEEN ? AND ? ORDER BY seq, idx');
  const insert = db.prepare('INSERT INTO readings_v3 (meter_id, seq, key_id, signature, received_at, reading) VALUES (?, ?, ?, ?, ?, ?)');
  const evidence = db.prepare('INSERT OR REPLACE INTO legacy_unencodable (meter_id, seq, old_values, error) VALUES (?, ?, ?, ?)');
  let converted = 0;
  for (const meterId of meters) {
    for (let after = ''; ;) {
      const rows = page.all(meterId, after) as Row[];
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!.seq as string;
      const bySeq = new Map<string, Row[]>();
      for (const g of regsOf.all(meterId, rows[0]!.seq, last) as Row[]) {
        const list = bySeq.get(g.seq as string);
        if (list) list.push(g);
        else bySeq.set(g.seq as string, [g]);
      }
      for (const r of rows) {
        const regs = bySeq.get(r.seq as string) ?? [];
        let encoded: Uint8Array;
        try {
          encoded = encodeReading(legacyReading(r, regs));
        } catch (err) {
          encoded = new Uint8Array(0);
          evidence.run(meterId, r.seq, jsonValues(r, regs), err instanceof Error ? err.message : String(err));
        }
        insert.run(meterId, r.seq, r.key_id, r.signature, r.received_at, Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength));
        converted++;
      }
      after = last;
    }
  }
  db.exec('DROP TABLE registers; DROP TABLE readings; ALTER TABLE readings_v3 RENAME TO readings;');
  return converted;
}

/**
 * Migrates `db` (opened with defaultSafeIntegers(true), DDL already run) to SCHEMA_VERSION. Returns the number
 * of old-layout readings converted (0 when there was nothing to do).
 */
export function migrate(db: Database.Database): number {
  return db.transaction(() => {
    const cols = columns(db, 'readings'); // read inside the lock: a second process migrating first is seen here
    const converted = cols.includes('reading') ? 0 : convert(db, cols);
    db.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`)
      .run(String(SCHEMA_VERSION));
    return converted;
  }).immediate();
}
