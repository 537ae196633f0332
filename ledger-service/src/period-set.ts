// Log rotation by period (issue 3 item 9, docs/ledger.md "Log rotation by period"): one log per UTC period,
// each its own SQLite file <dataDir>/periods/<period>.sqlite with origin "<origin>/<period>", its own
// checkpoints and per-meter index. The period of an entry is decided by the ledger's UTC clock when it is
// appended (maybeRotate runs before every append and on every checkpoint tick). Rotation, all synchronous:
//   1. the old log signs its final checkpoint (checkpointNow) and is marked closed (meta closed_at_ms);
//   2. the new file gets its identity and, in batches, entry 0 — a PreviousLog record (protocol 0x16)
//      committing the final checkpoint note — followed by the carried key state (period-carry.ts); or, when the
//      next log was prepared ahead (period-prepare.ts), the staged log gets the key events since its snapshot,
//      then its real entry 0 and the left edge of its tree in one transaction, and is renamed into place; its
//      index tree, built during the preparation, is handed to the new LedgerLog (the first checkpoint updates it by
//      path: only the meters changed since the snapshot), and after a restart is built from the store as always;
//   3. the new log becomes current; the old file is reopened read-only for the period API.
// Crash safety (kill -9 anywhere in 1–3): on start, a newest file that is not complete — empty with a
// predecessor, or holding fewer than 1 + carried entries — is deleted and the rotation is done again; a closed
// newest file is rotated out of at once. Signing is deterministic and a size has one checkpoint text, so the
// redone rotation commits the same final checkpoint.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  bytesEqual, decodePreviousLog, encodePreviousLog, fromHex, periodOf, periodOrigin, periodStartMs, periodUnitOf, toHex,
  type LogPeriodUnit,
} from '@meterseal/protocol';
import { LedgerError } from './errors.js';
import type { LedgerKeys } from './keys.js';
import { LedgerLog, type LedgerLogOptions } from './log.js';
import { carriedCounterDeltas, carriedState } from './period-carry.js';
import { CarryPreparer, discardStaging } from './period-prepare.js';
import type { AppendEffect } from './store.js';
import { SqliteStore, openSqliteStore } from './sqlite-store.js';

export const PERIODS_DIR = 'periods';
/** Carried entries per transaction (a crash between two leaves the new file incomplete: redone on start). */
const CARRY_BATCH = 5000;

export interface PeriodLog {
  period: string;
  origin: string;
  path: string;
  store: SqliteStore;
  log: LedgerLog;
}

export interface PeriodInfo {
  period: string;
  origin: string;
  closed: boolean;
  /** Closed: the final tree size; current: the size now. */
  size: bigint;
  /** Closed periods: the final signed checkpoint. */
  finalCheckpoint?: string;
  closedAtMs?: number;
}

export interface PeriodSetOptions {
  dataDir: string;
  baseOrigin: string;
  unit: LogPeriodUnit;
  keys: Pick<LedgerKeys, 'publicKey' | 'noteSigner'>;
  now: () => number;
  logger: Logger;
  /** Runs before the old log is closed (e.g. flushing counters into it). */
  beforeRotate?: () => void;
  /**
   * How long before the boundary the next period's carry is prepared (period-prepare.ts); 0: not prepared
   * (the carry is done whole at the boundary). Default: defaultPrepareAheadMs(unit).
   */
  prepareAheadMs?: number;
}

/** 1 h before a month's end, 10 min before a day's, 2 min before an hour's. */
export function defaultPrepareAheadMs(unit: LogPeriodUnit): number {
  return unit === 'month' ? 3_600_000 : unit === 'day' ? 600_000 : 120_000;
}

const FILE = /^([0-9]{4}-[0-9]{2}(-[0-9]{2}(T[0-9]{2})?)?)\.sqlite$/;
const STAGING = /^([0-9T-]+\.(?:carry|staged)\.sqlite)(?:-journal|-wal|-shm)?$/;

function removeDb(path: string): void {
  for (const p of [path, `${path}-wal`, `${path}-shm`]) rmSync(p, { force: true });
}

/** fsync of a directory: a rename in it survives power loss. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class PeriodLogSet {
  current!: PeriodLog;
  private readonly dir: string;
  private readonly closedStores = new Map<string, SqliteStore>();
  private readonly closedLogs = new Map<string, { store: SqliteStore; log: LedgerLog; origin: string }>();
  private closedIds?: string[];
  private nextBoundaryMs = 0;
  private prepareAtMs = Number.POSITIVE_INFINITY;
  private preparer?: CarryPreparer;
  private prepareTimer?: NodeJS.Immediate;
  /** The last rotation's parts, in ms (for the logs and period-carry-measure.ts). */
  lastRotation?: { finalCheckpointMs: number; carryMs: number; firstCheckpointMs: number; prepared: boolean };
  /** Counts rotations (and the start): what was closed before a change of generation stays closed. */
  generation = 0;

  private constructor(private readonly o: PeriodSetOptions) {
    this.dir = join(o.dataDir, PERIODS_DIR);
  }

  /** Opens (recovering an interrupted rotation) or creates the set; rotates at once when the period has passed. */
  static open(o: PeriodSetOptions): PeriodLogSet {
    const set = new PeriodLogSet(o);
    if (existsSync(join(o.dataDir, 'ledger.sqlite'))) {
      throw new LedgerError('STORE_MISMATCH', `${o.dataDir} holds a single log (ledger.sqlite); rotation needs a data directory of period logs (migrating is not implemented)`);
    }
    mkdirSync(set.dir, { recursive: true });
    // a staging file of an interrupted preparation is never trusted (period-prepare.ts): deleted
    for (const n of readdirSync(set.dir)) {
      const m = STAGING.exec(n);
      if (m) discardStaging(join(set.dir, m[1]!));
    }
    set.recover();
    return set;
  }

  /** Period ids with a file, oldest first. */
  private files(): string[] {
    return readdirSync(this.dir).map((n) => FILE.exec(n)?.[1]).filter((p): p is string => p !== undefined && periodUnitOf(p) !== undefined).sort();
  }

  private pathOf(period: string): string {
    return join(this.dir, `${period}.sqlite`);
  }

  /** `indexTree`: the log's index tree built ahead (a prepared rotation): its first checkpoint updates it by path. */
  private openLog(period: string, indexTree?: LedgerLogOptions['indexTree']): PeriodLog {
    const path = this.pathOf(period);
    const origin = periodOrigin(this.o.baseOrigin, period);
    const store = openSqliteStore(path);
    try {
      const o = store.getMeta('origin');
      const k = store.getMeta('ledger_public_key');
      if (o === undefined && k === undefined && store.treeSize() === 0n) {
        store.setMeta('origin', origin);
        store.setMeta('ledger_public_key', toHex(this.o.keys.publicKey));
      } else if (o !== origin || k === undefined || !bytesEqual(fromHex(k), this.o.keys.publicKey)) {
        throw new LedgerError('STORE_MISMATCH', `${path}: origin "${o}" and key ${k} are not "${origin}" and ${toHex(this.o.keys.publicKey)}`);
      }
      return { period, origin, path, store, log: new LedgerLog(store, origin, this.o.keys.noteSigner, indexTree ? { indexTree } : {}) };
    } catch (err) {
      store.close();
      throw err;
    }
  }

  /** True when the newest file holds a complete log (its entry 0 and every carried entry). */
  private complete(p: PeriodLog, hasPredecessor: boolean): boolean {
    const size = p.store.treeSize();
    if (size === 0n) return !hasPredecessor;
    const first = p.store.getEntry(0n);
    if (!hasPredecessor) return true;
    if (!first) return false;
    try {
      return size >= 1n + decodePreviousLog(first).carried;
    } catch {
      throw new LedgerError('STORE_CORRUPT', `${p.path}: entry 0 is not a PreviousLog record`);
    }
  }

  private recover(): void {
    let files = this.files();
    while (files.length > 0) {
      const newest = files[files.length - 1]!;
      const p = this.openLog(newest);
      if (this.complete(p, files.length > 1)) {
        this.current = p;
        break;
      }
      this.o.logger.warn({ period: newest }, 'an interrupted rotation left an incomplete period log; removing it and rotating again');
      p.store.close();
      removeDb(p.path);
      files = files.slice(0, -1);
    }
    const nowMs = this.o.now();
    if (files.length === 0) {
      this.current = this.openLog(periodOf(nowMs, this.o.unit)); // the first period: no entry 0
    }
    this.current.log.latestCheckpoint(); // a signed checkpoint exists from the start, even for an empty log
    this.setBoundary();
    if (this.current.store.getMeta('closed_at_ms') !== undefined || nowMs >= this.nextBoundaryMs) this.rotate(nowMs);
  }

  /** The first instant (UTC ms) whose period, in the configured unit, comes after the current period. */
  private setBoundary(): void {
    const start = periodStartMs(this.current.period, periodUnitOf(this.current.period)!);
    const later = (ms: number): boolean => periodOf(ms, this.o.unit) > this.current.period;
    const MONTH_BOUND = 32 * 86_400_000; // no period is longer
    let lo = start;
    let hi = start + MONTH_BOUND;
    while (!later(hi)) (lo = hi), (hi += MONTH_BOUND);
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (later(mid)) hi = mid;
      else lo = mid;
    }
    this.nextBoundaryMs = later(lo) ? lo : hi;
    const lead = this.o.prepareAheadMs ?? defaultPrepareAheadMs(this.o.unit);
    this.prepareAtMs = lead > 0 ? this.nextBoundaryMs - lead : Number.POSITIVE_INFINITY;
  }

  /** Starts preparing the next period's carry now (normally: on the first append or tick within the lead). */
  startPreparation(): CarryPreparer {
    if (this.preparer) return this.preparer;
    const next = periodOf(this.nextBoundaryMs, this.o.unit);
    const target = { period: next, origin: periodOrigin(this.o.baseOrigin, next), path: join(this.dir, `${next}.staged.sqlite`), publicKeyHex: toHex(this.o.keys.publicKey) };
    const p = new CarryPreparer(this.current.period, this.current.path, join(this.dir, `${this.current.period}.carry.sqlite`), target);
    this.preparer = p;
    this.o.logger.info({ period: p.from, meters: p.progress().meters }, 'preparing the next period\'s carried key state');
    const tick = (): void => {
      this.prepareTimer = undefined;
      if (this.preparer !== p) return;
      if (p.step()) this.o.logger.info(p.progress(), 'next period\'s carried key state prepared');
      else this.prepareTimer = setImmediate(tick); // one batch per turn of the event loop: ingest runs in between
    };
    this.prepareTimer = setImmediate(tick);
    return p;
  }

  /** The preparation under way or complete, if any. */
  get preparation(): CarryPreparer | undefined {
    return this.preparer;
  }

  /** Every append to the current log passes its effects here: key events mark their meter for the boundary. */
  noteAppend(effects: Iterable<AppendEffect>): void {
    this.preparer?.note(effects);
  }

  private stopPreparation(): CarryPreparer | undefined {
    const p = this.preparer;
    if (this.prepareTimer) clearImmediate(this.prepareTimer);
    this.prepareTimer = undefined;
    this.preparer = undefined;
    return p;
  }

  /** Rotates when the ledger's clock has reached the next period; true when it did. Cheap when it has not. */
  maybeRotate(): boolean {
    const nowMs = this.o.now();
    if (nowMs < this.nextBoundaryMs) {
      if (nowMs >= this.prepareAtMs && !this.preparer) this.startPreparation();
      return false;
    }
    this.rotate(nowMs);
    return true;
  }

  private rotate(nowMs: number): void {
    const old = this.current;
    const period = periodOf(nowMs, this.o.unit);
    if (period <= old.period) {
      throw new LedgerError('STORE_MISMATCH', `the ledger clock (${new Date(nowMs).toISOString()}) is in period ${period}, not after the closed log ${old.period}`);
    }
    this.o.beforeRotate?.();
    const t0 = performance.now();
    const final = old.log.checkpointNow(); // 1. the final checkpoint (deterministic: a size has one text)
    if (old.store.getMeta('closed_at_ms') === undefined) old.store.setMeta('closed_at_ms', String(nowMs));
    const closedAtMs = BigInt(old.store.getMeta('closed_at_ms')!);
    const t1 = performance.now();
    const prepared = this.stopPreparation();
    let usedPrepared = false;
    let t2 = t1;
    removeDb(this.pathOf(period)); // never a complete log: recover() would have made it current
    let next: PeriodLog | undefined;
    let carried = 0;
    try {
      if (prepared?.complete && prepared.from === old.period && prepared.target.period === period) {
        // prepared ahead (period-prepare.ts): the staged log gets the later key events, its real entry 0 and
        // left edge, then becomes the period's file by a rename (atomic; the directory is synced after it)
        try {
          const staged = prepared.finish(old.store, (n) => encodePreviousLog({ origin: prepared.target.origin, closedAtMs, carried: n, checkpoint: final.note }));
          renameSync(staged.path, this.pathOf(period));
          syncDir(this.dir);
          carried = staged.count;
          next = this.openLog(period, staged.index); // the index tree built during the preparation
          usedPrepared = true;
        } catch (err) {
          this.o.logger.warn({ err, period }, 'the prepared log could not be completed; carrying whole at the boundary');
          removeDb(this.pathOf(period));
          next = undefined;
        }
      }
      if (!next) {
        const carry = carriedState(old.store);
        carried = carry.count;
        next = this.openLog(period); // 2. identity, then entry 0 and the carried entries
        try {
          const entry0 = encodePreviousLog({ origin: next.origin, closedAtMs, carried: BigInt(carry.count), checkpoint: final.note });
          next.log.appendBatch([{ entry: entry0, effect: { kind: 'previous-log' } }]);
          for (const batch of carry.batches(CARRY_BATCH)) {
            next.log.appendBatch(batch.map((c) => ({ entry: c.entry, effect: c.effect })));
            next.store.addCounters(carriedCounterDeltas(batch));
          }
        } catch (err) {
          next.store.close();
          throw err;
        }
      }
      t2 = performance.now();
      try {
        next.log.checkpointNow(); // the first checkpoint: entry 0 is real
      } catch (err) {
        next.store.close();
        throw err;
      }
    } finally {
      prepared?.close();
    }
    this.lastRotation = { finalCheckpointMs: t1 - t0, carryMs: t2 - t1, firstCheckpointMs: performance.now() - t2, prepared: usedPrepared };
    this.current = next; // 3.
    old.store.close();
    this.closedIds = undefined;
    this.generation++;
    this.setBoundary();
    this.o.logger.info({ closed: old.period, finalSize: final.size.toString(), opened: period, carried, ...this.lastRotation }, 'log rotated');
  }

  /** A closed period's store, read-only (opened on first use and kept). */
  closedStore(period: string): SqliteStore | undefined {
    if (period === this.current.period || !this.files().includes(period)) return undefined;
    let s = this.closedStores.get(period);
    if (!s) {
      s = openSqliteStore(this.pathOf(period), { readonly: true });
      this.closedStores.set(period, s);
    }
    return s;
  }

  /** The closed periods' ids, newest first (kept until the next rotation: no directory read on the hot path). */
  closedPeriods(): readonly string[] {
    this.closedIds ??= this.files().filter((p) => p !== this.current.period).reverse();
    return this.closedIds;
  }

  /** A closed period's store and log, read-only (kept open). Throws for an unknown or current period. */
  closedLog(period: string): { store: SqliteStore; log: LedgerLog; origin: string } {
    let c = this.closedLogs.get(period);
    if (!c) {
      const store = this.closedStore(period);
      if (!store) throw new LedgerError('STORE_MISMATCH', `period ${period} has no closed log`);
      const origin = periodOrigin(this.o.baseOrigin, period);
      this.closedLogs.set(period, (c = { store, log: new LedgerLog(store, origin, this.o.keys.noteSigner), origin }));
    }
    return c;
  }

  /** Every period, oldest first, the current one last. */
  periods(): PeriodInfo[] {
    return this.files().map((period) => {
      const origin = periodOrigin(this.o.baseOrigin, period);
      if (period === this.current.period) return { period, origin, closed: false, size: this.current.store.treeSize() };
      const s = this.closedStore(period)!;
      const cp = s.getCheckpoint();
      const closedAt = s.getMeta('closed_at_ms');
      return {
        period, origin, closed: true, size: cp?.size ?? s.treeSize(),
        ...(cp ? { finalCheckpoint: cp.note } : {}),
        ...(closedAt !== undefined ? { closedAtMs: Number(closedAt) } : {}),
      };
    });
  }

  close(): void {
    this.stopPreparation()?.close();
    for (const s of this.closedStores.values()) s.close();
    this.closedStores.clear();
    this.closedLogs.clear();
    this.current.store.close();
  }
}
