// The next period's carried key state, prepared ahead of the boundary (docs/ledger.md "Log rotation by
// period"): during the last `prepareAheadMs` of a period, the carry of every meter (period-carry.ts
// meterCarried: registration in force, operator events, latest binding — with the entry bytes) is read out of
// the current log in small batches between other work and staged in <dataDir>/periods/<period>.carry.sqlite,
// while every key event appended from the start of the preparation marks its meter as changed. At the
// boundary only the changed meters are read again (their staged rows replaced), and the staged rows are read
// back in old-log order: the same set, in the same order, as the carry done whole at the boundary.
//
// Why batches on the event loop and not a worker thread: the reads go through the ledger's own store code
// (one implementation of the schema), each batch is a few milliseconds — shorter than one group commit — and
// a worker would need its own connection, its own copy of the carry rules and a consistent snapshot for
// little gain on a 2-core machine that already runs signature verification on a worker pool.
//
// kill -9: the staging file is never trusted after a restart (the set of changed meters lived in memory): it
// is deleted on start and the preparation begins again if the lead has not passed. The period log files are
// written only at the boundary, exactly as without preparation.
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { LedgerError } from './errors.js';
import { byOldIndex, fetchCarried, meterCarried, type CarriedEntry, type CarryDescriptor, type CarryState } from './period-carry.js';
import type { AppendEffect, LedgerStore } from './store.js';

/** Meters read per batch (one batch is one synchronous slice of the event loop). */
export const PREPARE_BATCH_METERS = 100;

// A staged effect in the V8 serialization format (HTML structured clone: Uint8Array and bigint as they are);
// the file is private to this process and never read after a restart, so the format needs no stability.
const encodeEffect = (e: AppendEffect): Buffer => serialize(e);
const decodeEffect = (b: Buffer): AppendEffect => deserialize(b) as AppendEffect;

/** The meter whose carried state an appended effect can change, if any. */
export function keyEffectMeter(e: AppendEffect): string | undefined {
  switch (e.kind) {
    case 'registration': return e.meter.meterId;
    case 'meter-event': return e.event.meterId;
    case 'binding':
    case 'carried-binding': return e.binding.meterId;
    default: return undefined;
  }
}

export interface PrepareProgress {
  meters: number;
  done: number;
  staged: number;
  changed: number;
}

export class CarryPreparer {
  private readonly db: Database.Database;
  private readonly meters: string[];
  private next = 0;
  private staged = 0;
  /** Meters with a key event appended since the preparation began: read again at the boundary. */
  readonly changed = new Set<string>();
  private readonly put: Database.Statement;

  /** Starts a preparation of what `from` (the current period's log) will carry; staging in `path` (replaced). */
  constructor(readonly from: string, private readonly store: LedgerStore, readonly path: string) {
    discardStaging(path);
    this.db = new Database(path);
    this.db.pragma('journal_mode = OFF'); // never trusted after a crash: no journal, no sync
    this.db.pragma('synchronous = OFF');
    this.db.exec(`CREATE TABLE carry (old_index INTEGER PRIMARY KEY, meter TEXT NOT NULL, entry BLOB NOT NULL, effect BLOB NOT NULL);
                  CREATE INDEX carry_meter ON carry (meter);`);
    this.db.defaultSafeIntegers(true);
    this.put = this.db.prepare('INSERT INTO carry (old_index, meter, entry, effect) VALUES (?, ?, ?, ?)');
    this.meters = store.listMeters().map((m) => m.meterId);
  }

  get complete(): boolean {
    return this.next >= this.meters.length;
  }

  progress(): PrepareProgress {
    return { meters: this.meters.length, done: this.next, staged: this.staged, changed: this.changed.size };
  }

  /** Reads and stages the next `meters` meters (synchronous, one short slice). True when all are staged. */
  step(meters = PREPARE_BATCH_METERS): boolean {
    const end = Math.min(this.meters.length, this.next + meters);
    const rows: CarriedEntry[] = [];
    for (let i = this.next; i < end; i++) for (const d of meterCarried(this.store, this.meters[i]!)) rows.push(fetchCarried(this.store, d));
    this.db.transaction(() => {
      for (const r of rows) this.put.run(r.oldIndex, keyEffectMeter(r.effect) ?? '', Buffer.from(r.entry), encodeEffect(r.effect));
    })();
    this.staged += rows.length;
    this.next = end;
    return this.complete;
  }

  /** Marks the meters of key events appended to the current log (called on every append while preparing). */
  note(effects: Iterable<AppendEffect>): void {
    for (const e of effects) {
      const m = keyEffectMeter(e);
      if (m !== undefined) this.changed.add(m);
    }
  }

  /**
   * The carry at the boundary, from the staged state: call after the log is closed (nothing appends to it any
   * more). Changed meters are read again from `old`; meters registered after the listing are among them.
   */
  finish(old: LedgerStore): CarryState {
    if (!this.complete) throw new LedgerError('INTERNAL', 'the carry preparation is not complete');
    const del = this.db.prepare('DELETE FROM carry WHERE meter = ?');
    const fresh: CarryDescriptor[] = [];
    this.db.transaction(() => {
      for (const m of this.changed) {
        del.run(m);
        fresh.push(...meterCarried(old, m));
      }
    })();
    fresh.sort(byOldIndex);
    const stagedCount = Number((this.db.prepare('SELECT count(*) AS n FROM carry').get() as { n: bigint }).n);
    const read = this.db.prepare('SELECT old_index, entry, effect FROM carry ORDER BY old_index');

    return {
      count: stagedCount + fresh.length,
      *batches(size: number) {
        // a merge of two runs sorted by old index: the staged rows and the changed meters' fresh ones
        let batch: CarriedEntry[] = [];
        let f = 0;
        for (const row of read.iterate() as Iterable<{ old_index: bigint; entry: Buffer; effect: Buffer }>) {
          while (f < fresh.length && fresh[f]!.oldIndex < row.old_index) batch.push(fetchCarried(old, fresh[f++]!));
          batch.push({ oldIndex: row.old_index, entry: new Uint8Array(row.entry), effect: decodeEffect(row.effect) });
          if (batch.length >= size) {
            yield batch;
            batch = [];
          }
        }
        while (f < fresh.length) batch.push(fetchCarried(old, fresh[f++]!));
        for (let i = 0; i < batch.length; i += size) yield batch.slice(i, i + size);
      },
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
    discardStaging(this.path);
  }
}

/** Deletes a staging file (and its side files), if any. */
export function discardStaging(path: string): void {
  for (const p of [path, `${path}-journal`, `${path}-wal`, `${path}-shm`]) rmSync(p, { force: true });
}
