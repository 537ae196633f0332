// Collector pieces for `meterseal bench collector` (cli/src/bench/collector.ts): the same Intake the service
// runs over MQTT (decode, session key lookup, native signature verification, batched store) answering into
// a callback, and a plain-SQLite reference that inserts the same rows into the same schema.
import type { KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { Intake, type ReplyTo, type ResponseBody } from '../intake.js';
import { DDL, seqKey } from '../sqlite-schema.js';
import { migrate } from '../sqlite-migration.js';
import { StatsCounter } from '../stats.js';
import type { CollectorStore, NewReading } from '../store.js';
import { silentLog } from './harness.js';
import { SCHEMA_2_DDL, insertSchema2 } from './legacy-layout.js';

export type { ReplyTo, ResponseBody };

export interface BenchIntake {
  intake: Intake;
  stats: StatsCounter;
}

export function benchIntake(store: CollectorStore, ledgerKey: KeyObject, respond: (reply: ReplyTo, body: ResponseBody) => void): BenchIntake {
  const stats = new StatsCounter();
  return { intake: new Intake({ store, ledgerKey, stats, log: silentLog, maxPending: 1000, respond }), stats };
}

const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * The reference: `items` inserted into a new database at `path` with the collector's schema and pragmas
 * (WAL, synchronous=FULL), one plain INSERT per reading (its row: key columns and bytes), all in ONE transaction — no
 * duplicate check, no outcome per item. Returns the rows in the readings table and the seconds the
 * transaction took (opening the database and creating the schema not counted).
 */
export function rawSqliteInsert(path: string, items: readonly NewReading[]): { rows: number; seconds: number } {
  return timedPlainInsert(path, (db) => {
    db.exec(DDL);
    migrate(db);
  }, (db) => {
    const reading = db.prepare(`INSERT INTO readings (meter_id, seq, key_id, signature, received_at, reading) VALUES (?, ?, ?, ?, ?, ?)`);
    for (const it of items) reading.run(it.reading.meterId, seqKey(it.reading.seq), buf(it.keyId), buf(it.signature), it.receivedAt, buf(it.bytes));
  });
}

/**
 * The before/after reference: the same readings as plain SQLite inserts into the schema-2 layout (a row of
 * values and 8 register rows per reading, testing/legacy-layout.ts), same pragmas, ONE transaction.
 */
export function rawLegacyInsert(path: string, items: readonly NewReading[]): { rows: number; seconds: number } {
  return timedPlainInsert(path, (db) => db.exec(SCHEMA_2_DDL), (db) => insertSchema2(db, items));
}

/** A new database at `path` with the collector's pragmas, `schema` applied, then `insert` timed in ONE transaction. */
function timedPlainInsert(path: string, schema: (db: Database.Database) => void, insert: (db: Database.Database) => void): { rows: number; seconds: number } {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    schema(db);
    const t0 = performance.now();
    db.transaction(() => insert(db))();
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, rows: Number((db.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n) };
  } finally {
    db.close();
  }
}
