// Re-hashing one meter's stored readings for reconciliation (docs/ledger.md §Reconciliation): every reading is
// rebuilt from its stored VALUES, re-encoded with the protocol's encodeReading and hashed again — no stored hash
// is read, none exists — then made into its meter-tree leaf with the key id of its delivery. Runs on the
// reconciliation's worker threads (rehash-worker.ts) straight from SQLite (two queries per meter, rows as
// arrays), or on the calling thread over any CollectorStore's StoredReadings.
import type Database from 'better-sqlite3';
import { HASH_LENGTH, encodeReading, meterLeafHasher, readingHash, rootOfLeaves, type ClockSyncState, type Reading, type Unit } from '@meterseal/protocol';
import { seqFromKey } from './sqlite-schema.js';
import type { StoredReading } from './store.js';

/** One meter's stored readings as meter-tree leaves, in typed arrays (cheap to pass between threads). */
export interface MeterLeaves {
  meterId: string;
  count: number;
  /** Sorted ascending. */
  seqs: BigUint64Array;
  /** Agent time of each reading (UTC epoch ms): completeness and time ranges need nothing else. */
  agentTimes: BigInt64Array;
  /** 1 where the stored values re-encode as a reading with an 8-byte key id; the hashes are zero where 0. */
  ok: Uint8Array;
  /** count × 32 bytes: meterLeafHash of the rebuilt anchor (RFC 9162 §2.1.1 leaf hash). */
  leafHashes: Uint8Array;
  /** count × 32 bytes: SHA-256 of the re-encoded reading. */
  readingHashes: Uint8Array;
  /** RFC 9162 §2.1.1 MTH over all leaves, when every reading re-encoded; otherwise null. */
  root: Uint8Array | null;
}

const KEY_ID_LENGTH = 8;

class LeafBuilder {
  readonly #meterId: string;
  readonly #leafOf: ReturnType<typeof meterLeafHasher>;
  readonly #seqs: bigint[] = [];
  readonly #times: bigint[] = [];
  readonly #ok: number[] = [];
  readonly #leaves: (Uint8Array | null)[] = [];
  readonly #hashes: (Uint8Array | null)[] = [];

  constructor(meterId: string) {
    this.#meterId = meterId;
    this.#leafOf = meterLeafHasher(meterId); // = meterLeafHash(anchor), without building each record
  }

  add(seq: bigint, agentTimeMs: bigint, keyId: Uint8Array, build: () => Reading): void {
    let hash: Uint8Array | null = null;
    let leaf: Uint8Array | null = null;
    try {
      hash = readingHash(encodeReading(build()));
      if (keyId.length === KEY_ID_LENGTH) leaf = this.#leafOf(seq, keyId, hash);
    } catch {
      hash = null; // stored values that no longer encode as a reading (edited at rest) match nothing
    }
    this.#seqs.push(seq);
    this.#times.push(agentTimeMs);
    this.#ok.push(leaf === null ? 0 : 1);
    this.#leaves.push(leaf);
    this.#hashes.push(leaf === null ? null : hash);
  }

  finish(): MeterLeaves {
    const n = this.#seqs.length;
    const leafHashes = new Uint8Array(n * HASH_LENGTH);
    const readingHashes = new Uint8Array(n * HASH_LENGTH);
    let all = true;
    for (let i = 0; i < n; i++) {
      const l = this.#leaves[i];
      if (l) {
        leafHashes.set(l, i * HASH_LENGTH);
        readingHashes.set(this.#hashes[i]!, i * HASH_LENGTH);
      } else all = false;
    }
    return {
      meterId: this.#meterId,
      count: n,
      seqs: BigUint64Array.from(this.#seqs),
      agentTimes: BigInt64Array.from(this.#times),
      ok: Uint8Array.from(this.#ok),
      leafHashes,
      readingHashes,
      root: all && n > 0 ? rootOfLeaves(this.#leaves as Uint8Array[]) : null, // RFC 9162 §2.1.1 MTH(D[0:n])
    };
  }
}

/** Leaves of StoredReadings (sorted by seq), on the calling thread: the path for any CollectorStore. */
export function leavesOfStored(meterId: string, stored: readonly StoredReading[]): MeterLeaves {
  const b = new LeafBuilder(meterId);
  for (const s of stored) b.add(s.reading.seq, s.reading.agentTimeMs, s.keyId, () => s.reading);
  return b.finish();
}

// Column order of the two queries below (positional: rows come back as arrays).
const READING_COLS = 'seq, meter_time_ms, agent_time_ms, clock_sync, status, salt, key_id, record_version, meter_identity, meter_clock_deviation_min, meter_clock_status';
const REGISTER_COLS = 'seq, obis, value, scaler, unit, raw';

export interface MeterQueries {
  readings: Database.Statement;
  registers: Database.Statement;
}

/** The two per-meter queries on a connection opened with defaultSafeIntegers(true). */
export function prepareMeterQueries(db: Database.Database): MeterQueries {
  return {
    readings: db.prepare(`SELECT ${READING_COLS} FROM readings WHERE meter_id = ? ORDER BY seq`).raw(true),
    registers: db.prepare(`SELECT ${REGISTER_COLS} FROM registers WHERE meter_id = ? ORDER BY seq, idx`).raw(true),
  };
}

const num = (v: unknown): number => Number(v as bigint);
/** BLOB columns come back as Buffers, which are Uint8Arrays: hashed as they are, no copy (they never leave the thread). */
const u8 = (v: unknown): Uint8Array => v as Buffer;

/**
 * One meter's leaves straight from the collector's SQLite tables: the registers of the meter in one query
 * (ordered by seq, idx), its readings streamed in a second (ordered by seq), merged by seq. The Reading built
 * for each row is exactly the one SqliteCollectorStore.readings() would give (sqlite-store.ts readingFromRows).
 */
export function leavesFromSqlite(q: MeterQueries, meterId: string): MeterLeaves {
  const regs = q.registers.all(meterId) as unknown[][];
  const b = new LeafBuilder(meterId);
  let g = 0;
  for (const row of q.readings.iterate(meterId) as IterableIterator<unknown[]>) {
    const seqText = row[0] as string;
    // registers of earlier seqs without a reading row (a reading deleted at rest, foreign keys off) are skipped
    while (g < regs.length && (regs[g]![0] as string) < seqText) g++;
    const from = g;
    while (g < regs.length && regs[g]![0] === seqText) g++;
    const to = g;
    const seq = seqFromKey(seqText);
    const agentTimeMs = row[2] as bigint;
    b.add(seq, agentTimeMs, u8(row[6]), () => {
      const registers = [];
      for (let i = from; i < to; i++) {
        const r = regs[i]!;
        registers.push({ obis: r[1] as string, value: BigInt(r[2] as string), scaler: num(r[3]), unit: r[4] as Unit, raw: u8(r[5]) });
      }
      const reading: Reading = {
        meterId,
        seq,
        meterTimeMs: (row[1] as bigint | null) ?? null,
        meterIdentity: (row[8] as string | null) ?? null,
        meterClockDeviationMin: row[9] === null ? null : num(row[9]),
        meterClockStatus: row[10] === null ? null : num(row[10]),
        agentTimeMs,
        clockSync: num(row[3]) as ClockSyncState,
        status: num(row[4]),
        registers,
        salt: u8(row[5]),
      };
      // a v1 reading keeps its version so that re-encoding gives back the bytes (and hash) the meter signed
      return num(row[7]) === 1 ? { version: 1, ...reading } : reading;
    });
  }
  return b.finish();
}
