// Reconciliation runs, their divergences, and the collector's witness state and cosignatures, in the
// collector's SQLite file (its own tables beside the readings; a second connection, WAL). Seqs are 20-digit
// zero-padded text as in sqlite-schema.ts, so that text order is numeric order.
import Database from 'better-sqlite3';
import { CollectorError } from './errors.js';
import { MemoryPeriodCache } from './reconcile-period-cache.js';
import type { AdjustedItem, ExplainedItem, Report } from './report.js';
import { seqKey } from './sqlite-schema.js';
import type { WitnessState, WitnessStateStore } from './witness.js';

const DDL = `
CREATE TABLE IF NOT EXISTS reconcile_runs (
  id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, outcome TEXT NOT NULL,
  checkpoint_origin TEXT NOT NULL, checkpoint_size TEXT NOT NULL, checkpoint_root TEXT NOT NULL,
  matched INTEGER NOT NULL, tampered INTEGER NOT NULL, missing INTEGER NOT NULL, unanchored INTEGER NOT NULL,
  conflicts INTEGER NOT NULL, pending INTEGER NOT NULL, silent_meters INTEGER NOT NULL,
  requests INTEGER NOT NULL, bytes INTEGER NOT NULL, witness_status TEXT, witness_alarm TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS reconcile_divergences (
  run_id TEXT NOT NULL REFERENCES reconcile_runs (id), meter_id TEXT NOT NULL, seq TEXT NOT NULL, outcome TEXT NOT NULL,
  collected_hash TEXT, ledger_hash TEXT, detail TEXT, collected TEXT, delivered TEXT,
  PRIMARY KEY (run_id, meter_id, seq, outcome)
) STRICT;
CREATE TABLE IF NOT EXISTS reconcile_annotations (
  run_id TEXT NOT NULL REFERENCES reconcile_runs (id), meter_id TEXT NOT NULL, seq TEXT NOT NULL, outcome TEXT NOT NULL,
  item TEXT NOT NULL, PRIMARY KEY (run_id, meter_id, seq, outcome, item)
) STRICT;
CREATE TABLE IF NOT EXISTS witness_state (
  origin TEXT PRIMARY KEY, size TEXT NOT NULL, root BLOB NOT NULL, body TEXT NOT NULL, cosignature TEXT NOT NULL, cosigned_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS witness_head (
  ledger TEXT PRIMARY KEY, origin TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS witness_cosignatures (
  id INTEGER PRIMARY KEY, origin TEXT NOT NULL, size TEXT NOT NULL, root BLOB NOT NULL, body TEXT NOT NULL,
  cosignature TEXT NOT NULL, cosigned_at TEXT NOT NULL
) STRICT;
`;

type Row = Record<string, unknown>;

export interface RunSummary {
  id: string;
  startedAt: string;
  outcome: string;
  checkpointSize: string;
  divergences: number;
  witnessStatus: string | null;
}

export class RunStore implements WitnessStateStore {
  readonly #db: Database.Database;
  /** A rotating ledger's closed periods, verified ledger side only, for the life of this store (reconcile-period-cache.ts). */
  readonly periodCache = new MemoryPeriodCache();

  constructor(readonly path: string) {
    try {
      this.#db = new Database(path);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = FULL');
      this.#db.pragma('busy_timeout = 5000');
      this.#db.exec(DDL);
      // a rotating ledger's period of each divergence (added after the table: older databases get the column)
      const columns = (this.#db.prepare('PRAGMA table_info(reconcile_divergences)').all() as Row[]).map((c) => c.name);
      if (!columns.includes('period')) this.#db.exec('ALTER TABLE reconcile_divergences ADD COLUMN period TEXT');
    } catch (cause) {
      throw new CollectorError('STORE_FAILED', `cannot open the reconciliation runs in ${path}`, { cause });
    }
  }

  /** The run and every divergence of its report, in one transaction. */
  saveRun(r: Report): void {
    const c = r.counts;
    const ins = this.#db.prepare(`INSERT INTO reconcile_divergences (run_id, meter_id, seq, outcome, collected_hash, ledger_hash, detail, collected, delivered, period)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#db.transaction(() => {
      this.#db.prepare(`INSERT INTO reconcile_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        r.id, r.startedAt, r.finishedAt, r.outcome ?? 'divergent', r.checkpoint.origin, r.checkpoint.size, r.checkpoint.rootHex,
        c.matched, c.tampered, c.missing, c.unanchored, c.conflicts, c.pending ?? 0, r.silentMeters?.length ?? 0,
        r.traffic?.requests ?? 0, r.traffic?.bytes ?? 0, r.witness?.status ?? null, r.witness?.alarm ? `${r.witness.alarm.code}: ${r.witness.alarm.message}` : null,
      );
      for (const it of r.items) {
        ins.run(r.id, it.meterId, seqKey(BigInt(it.seq)), it.outcome, it.collectedHash ?? null, it.ledgerHash ?? null, it.detail ?? null,
          it.collected ? JSON.stringify(it.collected) : null, it.delivered ? JSON.stringify(it.delivered) : null, it.period ?? null);
      }
      // explained gaps and adjusted readings are not divergences: kept apart, each item as its JSON
      const note = this.#db.prepare('INSERT INTO reconcile_annotations (run_id, meter_id, seq, outcome, item) VALUES (?, ?, ?, ?, ?)');
      for (const it of [...(r.explained ?? []), ...(r.adjusted ?? [])]) note.run(r.id, it.meterId, seqKey(BigInt(it.seq)), it.outcome, JSON.stringify(it));
    })();
  }

  runs(limit = 100): RunSummary[] {
    return (this.#db.prepare(`SELECT r.id, r.started_at, r.outcome, r.checkpoint_size, r.witness_status,
        (SELECT count(*) FROM reconcile_divergences d WHERE d.run_id = r.id) AS n FROM reconcile_runs r ORDER BY r.rowid DESC LIMIT ?`).all(limit) as Row[])
      .map((x) => ({ id: x.id as string, startedAt: x.started_at as string, outcome: x.outcome as string, checkpointSize: x.checkpoint_size as string, divergences: Number(x.n), witnessStatus: (x.witness_status as string | null) ?? null }));
  }

  /** A run's divergences; `period` for a rotating ledger's (the log that anchors it, or the current one for unanchored). */
  divergences(runId: string): { meterId: string; seq: bigint; outcome: string; period?: string }[] {
    return (this.#db.prepare('SELECT meter_id, seq, outcome, period FROM reconcile_divergences WHERE run_id = ? ORDER BY meter_id, seq').all(runId) as Row[])
      .map((x) => ({ meterId: x.meter_id as string, seq: BigInt(x.seq as string), outcome: x.outcome as string, ...(x.period === null ? {} : { period: x.period as string }) }));
  }

  /** A run's explained gaps and adjusted readings, ordered by meter, seq. */
  annotations(runId: string): { explained: ExplainedItem[]; adjusted: AdjustedItem[] } {
    const rows = this.#db.prepare('SELECT outcome, item FROM reconcile_annotations WHERE run_id = ? ORDER BY meter_id, seq, rowid').all(runId) as Row[];
    const out: { explained: ExplainedItem[]; adjusted: AdjustedItem[] } = { explained: [], adjusted: [] };
    for (const x of rows) {
      if (x.outcome === 'explained') out.explained.push(JSON.parse(x.item as string) as ExplainedItem);
      else if (x.outcome === 'adjusted') out.adjusted.push(JSON.parse(x.item as string) as AdjustedItem);
    }
    return out;
  }

  witnessState(origin: string): WitnessState | undefined {
    const r = this.#db.prepare('SELECT * FROM witness_state WHERE origin = ?').get(origin) as Row | undefined;
    return r && {
      origin, size: BigInt(r.size as string), root: new Uint8Array(r.root as Buffer), body: r.body as string, cosignature: r.cosignature as string, cosignedAt: r.cosigned_at as string,
    };
  }

  saveCosignature(s: WitnessState): void {
    this.#db.transaction(() => {
      this.#db.prepare('INSERT INTO witness_cosignatures (origin, size, root, body, cosignature, cosigned_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(s.origin, s.size.toString(), s.root, s.body, s.cosignature, s.cosignedAt);
      this.#db.prepare(`INSERT INTO witness_state (origin, size, root, body, cosignature, cosigned_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, body = excluded.body, cosignature = excluded.cosignature, cosigned_at = excluded.cosigned_at`)
        .run(s.origin, s.size.toString(), s.root, s.body, s.cosignature, s.cosignedAt);
      if (s.ledger !== undefined) {
        this.#db.prepare('INSERT INTO witness_head (ledger, origin) VALUES (?, ?) ON CONFLICT (ledger) DO UPDATE SET origin = excluded.origin').run(s.ledger, s.origin);
      }
    })();
  }

  /** The last checkpoint cosigned of any period of the rotating ledger named `ledger`. */
  witnessHead(ledger: string): WitnessState | undefined {
    const r = this.#db.prepare('SELECT origin FROM witness_head WHERE ledger = ?').get(ledger) as Row | undefined;
    const state = r && this.witnessState(r.origin as string);
    return state && { ...state, ledger };
  }

  cosignatureCount(): number {
    return Number((this.#db.prepare('SELECT count(*) AS n FROM witness_cosignatures').get() as Row).n);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
