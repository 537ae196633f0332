// The next period's log, prepared ahead of the boundary (docs/ledger.md "Log rotation by period"). During the
// last `prepareAheadMs` of a period, in small batches between other work:
//   1. read: the key state at the preparation's snapshot — a read transaction held on a read-only connection
//      to the current log (a WAL snapshot at tree size S, taken when the preparation starts) — for every meter
//      (period-carry.ts meterCarried: registration in force, operator events, latest binding, with the entry
//      bytes), staged in <dataDir>/periods/<period>.carry.sqlite, a sort buffer keyed by old leaf index;
//   2. write: the new period's log itself, <dataDir>/periods/<next>.staged.sqlite: a placeholder leaf 0, then
//      the staged entries in old-log order, with their tree nodes, per-meter index rows and derived rows,
//      exactly as the carry at the boundary writes them;
//   3. index: the staged log's per-meter index tree (index-tree.ts), its leaves read and hashed in meter-id order,
//      a slice at a time (IndexTreeBuilder), so the new log's first checkpoint is an update by path of the meters
//      changed since the snapshot, not a build from every meter's leaf (O(meters) at the boundary). Memory only.
// Every key event appended to the current log from the snapshot on marks its meter as changed. At the
// boundary (finish): for each changed meter, the entries of its final carry that were appended since the
// snapshot (index ≥ S) are appended, all in old-log order; then leaf 0 becomes the PreviousLog and the left
// edge of the tree is recomputed in ONE transaction (SqliteStore.replaceLeafZero). Only then is the file
// renamed to <next>.sqlite and its first checkpoint signed (period-set.ts): no checkpoint, tile or proof of
// the staged file is ever served or signed while leaf 0 is a placeholder.
//
// Why batches on the event loop and not a worker thread: the reads and writes go through the ledger's own
// store code (one implementation of the schema and the carry rules), each batch is a few milliseconds, and
// the two cores already run signature verification on a worker pool.
//
// kill -9: neither file is trusted after a restart (the set of changed meters lived in memory): both are
// deleted on start and the preparation begins again if the lead has not passed. The staged log becomes a
// period log only by the rename, after its entry 0 is real.
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { LedgerError } from './errors.js';
import { IndexTreeBuilder, type IndexTree } from './index-tree.js';
import { byOldIndex, carriedCounterDeltas, fetchCarried, meterCarried, type CarriedEntry, type CarryDescriptor } from './period-carry.js';
import { SqliteStore, openSqliteStore } from './sqlite-store.js';
import type { AppendEffect, LedgerStore } from './store.js';

/** Meters read per batch (one batch is one synchronous slice of the event loop). */
export const PREPARE_BATCH_METERS = 100;
/** Staged entries written into the new log per batch (one transaction). */
export const PREPARE_BATCH_ENTRIES = 1000;
/** Index leaves read and hashed per batch (the staged log's index tree). */
export const PREPARE_BATCH_LEAVES = 1000;
/** Entries appended per transaction at the boundary. */
const BOUNDARY_BATCH = 5000;

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
  written: number;
  /** Meters whose index leaf is in the staged log's index tree. */
  indexed: number;
  changed: number;
}

/** The log being prepared: the next period, its origin, its file and the ledger key it is made for. */
export interface PrepareTarget {
  period: string;
  origin: string;
  path: string;
  publicKeyHex: string;
}

export class CarryPreparer {
  private readonly db: Database.Database;
  private readonly meters: string[];
  private snapshot?: { store: SqliteStore; release: () => void };
  /** The tree size of the current log at the snapshot: entries below it are the staged key state. */
  readonly snapshotSize: bigint;
  private next = 0;
  private staged = 0;
  private written = 0;
  private lastWritten = -1n;
  private done = false;
  private log?: SqliteStore;
  /** The index phase: the staged log's meter ids, how many are in the builder, and the tree once all are. */
  private indexIds?: string[];
  private indexed = 0;
  private builder?: IndexTreeBuilder;
  private indexTree?: IndexTree;
  /** Meters with a key event appended since the snapshot: their later entries are appended at the boundary. */
  readonly changed = new Set<string>();
  private readonly put: Database.Statement;

  /** Starts a preparation of what `from` (the log at `fromPath`) will carry into `target`; staging in `path`. */
  constructor(readonly from: string, fromPath: string, readonly path: string, readonly target: PrepareTarget) {
    discardStaging(path);
    discardStaging(target.path);
    const store = openSqliteStore(fromPath, { readonly: true });
    try {
      const release = store.holdSnapshot(); // synchronous with the caller: no append between it and note()
      this.snapshot = { store, release };
      this.snapshotSize = store.treeSize();
      this.meters = store.listMeters().map((m) => m.meterId);
    } catch (err) {
      store.close();
      throw err;
    }
    this.db = new Database(path);
    this.db.pragma('journal_mode = OFF'); // never trusted after a crash: no journal, no sync
    this.db.pragma('synchronous = OFF');
    this.db.exec('CREATE TABLE carry (old_index INTEGER PRIMARY KEY, entry BLOB NOT NULL, effect BLOB NOT NULL)');
    this.db.defaultSafeIntegers(true);
    this.put = this.db.prepare('INSERT INTO carry (old_index, entry, effect) VALUES (?, ?, ?)');
  }

  get complete(): boolean {
    return this.done;
  }

  progress(): PrepareProgress {
    return { meters: this.meters.length, done: this.next, staged: this.staged, written: this.written, indexed: this.indexed, changed: this.changed.size };
  }

  /**
   * One short synchronous slice: reads and stages the next `meters` meters at the snapshot, or, once all are
   * read, writes the next staged entries into the new log, and once all are written, adds the next leaves to its
   * index tree. True when the new log holds every staged entry and its index tree is built.
   */
  step(meters = PREPARE_BATCH_METERS): boolean {
    if (this.done) return true;
    if (this.snapshot) {
      const snap = this.snapshot.store;
      const end = Math.min(this.meters.length, this.next + meters);
      const rows: CarriedEntry[] = [];
      for (let i = this.next; i < end; i++) for (const d of meterCarried(snap, this.meters[i]!)) rows.push(fetchCarried(snap, d));
      this.db.transaction(() => {
        for (const r of rows) this.put.run(r.oldIndex, Buffer.from(r.entry), encodeEffect(r.effect));
      })();
      this.staged += rows.length;
      this.next = end;
      if (end >= this.meters.length) this.startLog();
      return false;
    }
    if (this.indexIds) return this.indexStep();
    const rows = this.db.prepare('SELECT old_index, entry, effect FROM carry WHERE old_index > ? ORDER BY old_index LIMIT ?')
      .all(this.lastWritten, PREPARE_BATCH_ENTRIES) as Array<{ old_index: bigint; entry: Buffer; effect: Buffer }>;
    const batch = rows.map((r): CarriedEntry => ({ oldIndex: r.old_index, entry: new Uint8Array(r.entry), effect: decodeEffect(r.effect) }));
    this.append(batch);
    this.written += batch.length;
    if (batch.length > 0) this.lastWritten = batch[batch.length - 1]!.oldIndex;
    if (batch.length < PREPARE_BATCH_ENTRIES) {
      this.indexIds = this.log!.meterIndex.ids();
      this.builder = new IndexTreeBuilder();
    }
    return false;
  }

  /** Reads and hashes the next leaves of the staged log's index (nothing writes to it until finish). */
  private indexStep(): boolean {
    const ids = this.indexIds!;
    const end = Math.min(ids.length, this.indexed + PREPARE_BATCH_LEAVES);
    for (const leaf of this.log!.meterIndex.leavesOf(ids.slice(this.indexed, end), false)) this.builder!.push(leaf);
    this.indexed = end;
    if (end < ids.length) return false;
    this.indexTree = this.builder!.tree();
    this.builder = undefined;
    this.indexIds = undefined;
    this.done = true;
    return true;
  }

  /** The snapshot is read: released (the WAL may be checkpointed again); the new log gets its identity and leaf 0. */
  private startLog(): void {
    this.releaseSnapshot();
    const log = (this.log = openSqliteStore(this.target.path));
    log.setMeta('origin', this.target.origin);
    log.setMeta('ledger_public_key', this.target.publicKeyHex);
    // a placeholder: replaced by the PreviousLog at the boundary (replaceLeafZero), never signed or served
    log.appendBatch([{ index: 0n, entry: new Uint8Array(0), effect: { kind: 'previous-log' } }]);
  }

  private append(batch: readonly CarriedEntry[]): void {
    const log = this.log!;
    const first = log.treeSize();
    log.appendBatch(batch.map((c, i) => ({ index: first + BigInt(i), entry: c.entry, effect: c.effect })));
    log.addCounters(carriedCounterDeltas(batch));
  }

  private releaseSnapshot(): void {
    if (!this.snapshot) return;
    this.snapshot.release();
    this.snapshot.store.close();
    this.snapshot = undefined;
  }

  /** Marks the meters of key events appended to the current log (called on every append while preparing). */
  note(effects: Iterable<AppendEffect>): void {
    for (const e of effects) {
      const m = keyEffectMeter(e);
      if (m !== undefined) this.changed.add(m);
    }
  }

  /**
   * At the boundary, once `old` is closed (nothing appends to it any more): appends, for every changed meter,
   * the entries of its carry out of `old` that were appended since the snapshot — all in old-log order — then
   * makes leaf 0 `entry0(carried)` with the left edge of the tree, in one transaction. Returns the staged
   * log's path (closed: the caller renames it into place), the number of carried entries, and its index tree as
   * built before these appends with the meters they change (LedgerLogOptions.indexTree).
   */
  finish(old: LedgerStore, entry0: (carried: bigint) => Uint8Array): { path: string; count: number; appended: number; index: { tree: IndexTree; changed: Set<string> } } {
    if (!this.done || !this.log || !this.indexTree) throw new LedgerError('INTERNAL', 'the carry preparation is not complete');
    const log = this.log;
    const later: CarryDescriptor[] = [];
    for (const m of this.changed) for (const d of meterCarried(old, m)) if (d.oldIndex >= this.snapshotSize) later.push(d);
    later.sort(byOldIndex);
    for (let i = 0; i < later.length; i += BOUNDARY_BATCH) {
      this.append(later.slice(i, i + BOUNDARY_BATCH).map((d) => {
        const c = fetchCarried(old, d);
        // a meter staged with its registration then exchanged: the copy of the new registration replaces the row
        if (c.effect.kind === 'registration' && log.getMeter(c.effect.meter.meterId)) return { ...c, effect: { ...c.effect, exchange: true } };
        return c;
      }));
    }
    const count = this.written + later.length;
    if (log.treeSize() !== 1n + BigInt(count)) throw new LedgerError('STORE_CORRUPT', `${this.target.path}: ${log.treeSize()} entries, expected 1 + ${count}`);
    log.replaceLeafZero(entry0(BigInt(count)));
    log.close();
    this.log = undefined;
    return { path: this.target.path, count, appended: later.length, index: { tree: this.indexTree, changed: new Set(this.changed) } };
  }

  /** Ends the preparation: both files deleted (after finish, the staged log has been renamed away). */
  close(): void {
    this.releaseSnapshot();
    this.log?.close();
    this.log = undefined;
    if (this.db.open) this.db.close();
    discardStaging(this.path);
    discardStaging(this.target.path);
  }
}

/** Deletes a staging file (and its side files), if any. */
export function discardStaging(path: string): void {
  for (const p of [path, `${path}-journal`, `${path}-wal`, `${path}-shm`]) rmSync(p, { force: true });
}
