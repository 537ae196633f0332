// CollectorStore on SQLite (better-sqlite3): WAL journal, synchronous=FULL so that a committed reading
// survives power loss before its ack is sent (https://www.sqlite.org/pragma.html#pragma_synchronous).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { bytesEqual, decodeReading, type Reading } from '@meterseal/protocol';
import { CollectorError } from './errors.js';
import type { Report } from './report.js';
import { leavesFromSqlite, prepareMeterQueries, type MeterLeaves, type MeterQueries } from './rehash-core.js';
import { headMatcher, readingHead } from './rehash-head.js';
import { DDL, seqFromKey, seqKey } from './sqlite-schema.js';
import { migrate } from './sqlite-migration.js';
import type {
  CollectorStore, ConflictRecord, InsertOutcome, NewPending, NewReading, PendingDelivery, SessionKeyRecord, StoreCounts, StoredReading,
} from './store.js';

export const DB_FILE = 'collector.sqlite';

type Row = Record<string, unknown>;
const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const bytes = (v: unknown): Uint8Array => new Uint8Array(v as Buffer);
const num = (v: unknown): number => Number(v as bigint);

function sessionKeyFromRow(r: Row): SessionKeyRecord {
  return {
    meterId: r.meter_id as string,
    keyId: bytes(r.key_id),
    sessionPublicKey: bytes(r.session_pub),
    identityPublicKey: bytes(r.identity_pub),
    firstSeq: seqFromKey(r.first_seq as string),
    createdAtMs: r.created_at_ms as bigint,
    announcement: bytes(r.announcement),
    receivedAt: r.received_at as string,
  };
}

/** A stored row as a StoredReading: the reading decoded from its bytes (see StoredReading for bytes that do not decode). */
function storedFromRow(meterId: string, r: Row): StoredReading {
  const stored = bytes(r.reading);
  const base = { bytes: stored, keyId: bytes(r.key_id), signature: bytes(r.signature), receivedAt: r.received_at as string };
  try {
    return { reading: decodeReading(stored), ...base };
  } catch (err) {
    const head = readingHead(stored);
    const placeholder: Reading = {
      meterId, seq: seqFromKey(r.seq as string), meterTimeMs: null, meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null,
      agentTimeMs: head?.agentTimeMs ?? 0n, clockSync: 0, status: 0, registers: [], salt: new Uint8Array(16),
    };
    return { reading: placeholder, ...base, undecodable: `the stored bytes no longer decode as a reading: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Opens (creating if needed) <dataDir>/collector.sqlite. */
export function openSqliteStore(dataDir: string): SqliteCollectorStore {
  return new SqliteCollectorStore(join(dataDir, DB_FILE));
}

export class SqliteCollectorStore implements CollectorStore {
  readonly backend = 'sqlite';
  readonly path: string;
  readonly #db: Database.Database;
  readonly #s: Record<string, Database.Statement>;
  readonly #insertBatch: (batch: NewReading[]) => InsertOutcome[];
  #meterQueries: MeterQueries | undefined;

  constructor(path: string) {
    this.path = path;
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.#db = new Database(path);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = FULL');
      this.#db.pragma('foreign_keys = ON');
      this.#db.pragma('busy_timeout = 5000');
      this.#db.pragma('wal_autocheckpoint = 8192'); // 32 MiB of WAL between checkpoints: fewer, larger ones under steady ingest (https://www.sqlite.org/pragma.html#pragma_wal_autocheckpoint)
      this.#db.defaultSafeIntegers(true); // INTEGER columns come back as bigint: i64 times never lose precision
      this.#db.exec(DDL);
      migrate(this.#db); // records schema_version, converting an older layout to one row of bytes per reading
    } catch (cause) {
      throw new CollectorError('STORE_FAILED', `cannot open the collector database at ${path}`, { cause });
    }
    const db = this.#db;
    this.#s = {
      insertReading: db.prepare(
        `INSERT INTO readings (meter_id, seq, key_id, signature, received_at, reading) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (meter_id, seq) DO NOTHING`,
      ),
      storedBytes: db.prepare(`SELECT reading FROM readings WHERE meter_id = ? AND seq = ?`).pluck(true),
      insertConflict: db.prepare(
        `INSERT OR IGNORE INTO conflicts (meter_id, seq, reading, key_id, signature, received_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      readingRange: db.prepare(`SELECT seq, key_id, signature, received_at, reading FROM readings WHERE meter_id = ? AND seq BETWEEN ? AND ? ORDER BY seq LIMIT ?`),
      // the distinct meters by skipping from one to the next on the primary key (one seek per meter), not by
      // reading every row of a table that holds the readings themselves
      meters: db.prepare(`WITH RECURSIVE m(id) AS (
          SELECT (SELECT min(meter_id) FROM readings)
          UNION ALL SELECT (SELECT meter_id FROM readings WHERE meter_id > m.id ORDER BY meter_id LIMIT 1) FROM m WHERE m.id IS NOT NULL)
        SELECT id AS meter_id FROM m WHERE id IS NOT NULL UNION SELECT meter_id FROM conflicts ORDER BY meter_id`),
      atLeast: db.prepare(`SELECT count(*) FROM (SELECT 1 FROM readings LIMIT ?)`).pluck(true),
      seqRange: db.prepare(`SELECT min(seq) AS lo, max(seq) AS hi FROM readings WHERE meter_id = ?`),
      conflicts: db.prepare(`SELECT meter_id, seq, reading, key_id, signature, received_at FROM conflicts ORDER BY meter_id, seq, id`),
      putKey: db.prepare(
        `INSERT OR IGNORE INTO session_keys (meter_id, key_id, session_pub, identity_pub, first_seq, created_at_ms, announcement, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getKey: db.prepare(`SELECT * FROM session_keys WHERE meter_id = ? AND key_id = ?`),
      keysOf: db.prepare(`SELECT * FROM session_keys WHERE meter_id = ? ORDER BY first_seq, received_at`),
      addPending: db.prepare(
        `INSERT INTO pending (meter_id, key_id, payload, response_topic, correlation_data, received_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (payload) DO UPDATE SET response_topic = excluded.response_topic, correlation_data = excluded.correlation_data`,
      ),
      pendingByPayload: db.prepare(`SELECT id FROM pending WHERE payload = ?`),
      pendingFor: db.prepare(`SELECT * FROM pending WHERE meter_id = ? AND key_id = ? ORDER BY id`),
      deletePending: db.prepare(`DELETE FROM pending WHERE id = ?`),
      counts: db.prepare(
        `SELECT (SELECT count(*) FROM readings) AS readings, (SELECT count(*) FROM conflicts) AS conflicts,
                (SELECT count(*) FROM pending) AS pending, (SELECT count(*) FROM session_keys) AS session_keys,
                (SELECT count(*) FROM reports) AS reports`,
      ),
      saveReport: db.prepare(
        `INSERT INTO reports (id, started_at, finished_at, checkpoint_origin, checkpoint_size, checkpoint_root,
                              matched, tampered, missing, unanchored, conflicts, json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getReport: db.prepare(`SELECT json FROM reports WHERE id = ?`),
      reportIds: db.prepare(`SELECT id FROM reports ORDER BY started_at DESC, id DESC`),
    };
    this.#insertBatch = db.transaction((batch: NewReading[]) => batch.map((item) => this.#insertOne(item)));
  }

  #insertOne(item: NewReading): InsertOutcome {
    const r = item.reading;
    if (headMatcher(r.meterId)(item.bytes, r.seq) === null) {
      throw new CollectorError('STORE_FAILED', `the bytes of ${r.meterId}/${r.seq} are not the encoding of that reading`);
    }
    const seq = seqKey(r.seq);
    const s = this.#s;
    const delivered = buf(item.bytes);
    if (s.insertReading!.run(r.meterId, seq, buf(item.keyId), buf(item.signature), item.receivedAt, delivered).changes === 1) return 'stored';
    const existing = s.storedBytes!.get(r.meterId, seq) as Buffer | undefined;
    if (existing !== undefined && delivered.equals(existing)) return 'duplicate';
    s.insertConflict!.run(r.meterId, seq, delivered, buf(item.keyId), buf(item.signature), item.receivedAt);
    return 'conflict';
  }

  #readingRange(meterId: string, from: string, to: string, limit: number): StoredReading[] {
    return (this.#s.readingRange!.all(meterId, from, to, limit) as Row[]).map((row) => storedFromRow(meterId, row));
  }

  async putSessionKey(k: SessionKeyRecord): Promise<'stored' | 'duplicate' | 'conflict'> {
    const info = this.#s.putKey!.run(
      k.meterId, buf(k.keyId), buf(k.sessionPublicKey), buf(k.identityPublicKey), seqKey(k.firstSeq), k.createdAtMs, buf(k.announcement), k.receivedAt,
    );
    if (info.changes === 1) return 'stored';
    const existing = await this.getSessionKey(k.meterId, k.keyId);
    const same = existing !== null && bytesEqual(existing.sessionPublicKey, k.sessionPublicKey) &&
      bytesEqual(existing.identityPublicKey, k.identityPublicKey) && existing.firstSeq === k.firstSeq;
    return same ? 'duplicate' : 'conflict';
  }

  async getSessionKey(meterId: string, keyId: Uint8Array): Promise<SessionKeyRecord | null> {
    const row = this.#s.getKey!.get(meterId, buf(keyId)) as Row | undefined;
    return row ? sessionKeyFromRow(row) : null;
  }

  async sessionKeys(meterId: string): Promise<SessionKeyRecord[]> {
    return (this.#s.keysOf!.all(meterId) as Row[]).map(sessionKeyFromRow);
  }

  async insertReadings(batch: NewReading[]): Promise<InsertOutcome[]> {
    if (batch.length === 0) return [];
    try {
      return this.#insertBatch(batch);
    } catch (cause) {
      throw new CollectorError('STORE_FAILED', `could not store a batch of ${batch.length} readings`, { cause });
    }
  }

  async readings(meterId: string, fromSeq: bigint, toSeq: bigint, limit = 10_000): Promise<StoredReading[]> {
    if (toSeq < fromSeq) return [];
    return this.#readingRange(meterId, seqKey(fromSeq), seqKey(toSeq), limit);
  }

  /** One meter's readings re-encoded, re-hashed and made leaves on this thread (rehash-core.ts; rehash.ts uses workers). */
  meterLeaves(meterId: string): MeterLeaves {
    this.#meterQueries ??= prepareMeterQueries(this.#db);
    try {
      return leavesFromSqlite(this.#meterQueries, meterId);
    } catch (cause) {
      throw new CollectorError('STORE_FAILED', `could not read the readings of meter ${meterId}`, { cause });
    }
  }

  /** True if at least `n` readings are stored: reads at most n rows (counts() reads them all). */
  hasReadings(n: number): boolean {
    return Number(this.#s.atLeast!.get(n) as bigint) >= n;
  }

  async meters(): Promise<string[]> {
    return (this.#s.meters!.all() as Row[]).map((r) => r.meter_id as string);
  }

  async seqRange(meterId: string): Promise<{ min: bigint; max: bigint } | null> {
    const row = this.#s.seqRange!.get(meterId) as Row;
    return row.lo === null ? null : { min: seqFromKey(row.lo as string), max: seqFromKey(row.hi as string) };
  }

  async conflicts(): Promise<ConflictRecord[]> {
    return (this.#s.conflicts!.all() as Row[]).map((r) => ({
      meterId: r.meter_id as string,
      seq: seqFromKey(r.seq as string),
      bytes: bytes(r.reading),
      keyId: bytes(r.key_id),
      signature: bytes(r.signature),
      receivedAt: r.received_at as string,
    }));
  }

  async addPending(p: NewPending): Promise<boolean> {
    const before = this.#s.pendingByPayload!.get(buf(p.payload)) as Row | undefined;
    this.#s.addPending!.run(
      p.meterId, buf(p.keyId), buf(p.payload), p.responseTopic, p.correlationData === null ? null : buf(p.correlationData), p.receivedAt,
    );
    return before === undefined;
  }

  async pendingFor(meterId: string, keyId: Uint8Array): Promise<PendingDelivery[]> {
    return (this.#s.pendingFor!.all(meterId, buf(keyId)) as Row[]).map((r) => ({
      id: num(r.id),
      meterId: r.meter_id as string,
      keyId: bytes(r.key_id),
      payload: bytes(r.payload),
      responseTopic: (r.response_topic as string | null) ?? null,
      correlationData: r.correlation_data === null ? null : bytes(r.correlation_data),
      receivedAt: r.received_at as string,
    }));
  }

  async deletePending(ids: number[]): Promise<number> {
    return this.#db.transaction(() => ids.reduce((n, id) => n + this.#s.deletePending!.run(id).changes, 0))();
  }

  async counts(): Promise<StoreCounts> {
    const r = this.#s.counts!.get() as Row;
    return { readings: num(r.readings), conflicts: num(r.conflicts), pending: num(r.pending), sessionKeys: num(r.session_keys), reports: num(r.reports) };
  }

  async saveReport(report: Report): Promise<void> {
    const c = report.counts;
    this.#s.saveReport!.run(
      report.id, report.startedAt, report.finishedAt, report.checkpoint.origin, report.checkpoint.size, report.checkpoint.rootHex,
      c.matched, c.tampered, c.missing, c.unanchored, c.conflicts, JSON.stringify(report),
    );
  }

  async getReport(id: string): Promise<Report | null> {
    const row = this.#s.getReport!.get(id) as Row | undefined;
    return row ? (JSON.parse(row.json as string) as Report) : null;
  }

  async reportIds(): Promise<string[]> {
    return (this.#s.reportIds!.all() as Row[]).map((r) => r.id as string);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}
