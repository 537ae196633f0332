// Re-hashing one meter's stored readings for reconciliation (docs/ledger.md §Reconciliation): every reading is
// hashed again from its stored canonical bytes, which hold all its values — no stored hash is read, none
// exists — then made into its meter-tree leaf with the key id of its delivery. Runs on the reconciliation's
// worker threads (rehash-worker.ts) straight from SQLite (one primary-key range scan per meter, rows as
// arrays), or on the calling thread over any CollectorStore's StoredReadings.
import type Database from 'better-sqlite3';
import { HASH_LENGTH } from '@meterseal/protocol';
import { leafHasher, rootOfFlatLeaves, sha256Of } from './rehash-hash.js';
import { headMatcher, readingHead } from './rehash-head.js';
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
  /** 1 where the stored bytes are a reading of this meter at this seq with an 8-byte key id; the hashes are zero where 0. */
  ok: Uint8Array;
  /** count × 32 bytes: meterLeafHash of the rebuilt anchor (RFC 9162 §2.1.1 leaf hash). */
  leafHashes: Uint8Array;
  /** count × 32 bytes: SHA-256 of the stored reading bytes. */
  readingHashes: Uint8Array;
  /** RFC 9162 §2.1.1 MTH over all leaves, when every reading has one; otherwise null. */
  root: Uint8Array | null;
}

const KEY_ID_LENGTH = 8;

/** Row i of a meter's stored readings: its seq (from the row's key), the key id of its delivery, its stored bytes. */
interface Rows {
  seq(i: number): bigint;
  keyId(i: number): Uint8Array;
  bytes(i: number): Uint8Array;
}

/**
 * The leaves of `n` stored readings of one meter, sorted by seq. Each reading's hash is SHA-256 over its stored
 * canonical bytes — re-hashing its values, which live in those bytes (docs/protocol.md §3) — and its leaf is the
 * meterLeafHash of the anchor it makes with the row's seq and key id. Its agent time is read from the same bytes.
 * Bytes that do not start as a reading of this meter at this seq, or a key id that is not 8 bytes, give no leaf.
 */
function buildLeaves(meterId: string, n: number, rows: Rows): MeterLeaves {
  const leafOf = leafHasher(meterId); // = meterLeafHash(anchor), one SHA-256 call over a reused buffer
  const isMine = headMatcher(meterId);
  const seqs = new BigUint64Array(n);
  const agentTimes = new BigInt64Array(n);
  const ok = new Uint8Array(n);
  const leafHashes = new Uint8Array(n * HASH_LENGTH);
  const readingHashes = new Uint8Array(n * HASH_LENGTH);
  let all = n > 0;
  for (let i = 0; i < n; i++) {
    const seq = rows.seq(i);
    const keyId = rows.keyId(i);
    const bytes = rows.bytes(i);
    seqs[i] = seq;
    const head = readingHead(bytes);
    agentTimes[i] = head?.agentTimeMs ?? 0n;
    if (head === null || isMine(bytes, seq, head) === null || keyId.length !== KEY_ID_LENGTH) {
      all = false; // edited at rest into something that is not this reading: matches nothing
      continue;
    }
    const hash = sha256Of(bytes); // the reading hash: SHA-256 over the stored encoding (docs/protocol.md §3)
    ok[i] = 1;
    readingHashes.set(hash, i * HASH_LENGTH);
    leafHashes.set(leafOf(seq, keyId, hash), i * HASH_LENGTH);
  }
  return {
    meterId, count: n, seqs, agentTimes, ok, leafHashes, readingHashes,
    root: all ? rootOfFlatLeaves(leafHashes, n) : null, // RFC 9162 §2.1.1 MTH(D[0:n])
  };
}

/** Leaves of StoredReadings (sorted by seq), on the calling thread: the path for any CollectorStore. */
export function leavesOfStored(meterId: string, stored: readonly StoredReading[]): MeterLeaves {
  return buildLeaves(meterId, stored.length, { seq: (i) => stored[i]!.reading.seq, keyId: (i) => stored[i]!.keyId, bytes: (i) => stored[i]!.bytes });
}

export interface MeterQueries {
  readings: Database.Statement;
}

/** The per-meter query on a connection: rows as arrays [seq, key_id, reading], in seq order (the primary key's). */
export function prepareMeterQueries(db: Database.Database): MeterQueries {
  return { readings: db.prepare(`SELECT seq, key_id, reading FROM readings WHERE meter_id = ? ORDER BY seq`).raw(true) };
}

/**
 * One meter's leaves straight from the collector's SQLite table: one range scan of the primary key, nothing
 * decoded but the few head fields. BLOB columns come back as Buffers, which are Uint8Arrays: hashed as they are.
 */
export function leavesFromSqlite(q: MeterQueries, meterId: string): MeterLeaves {
  const rows = q.readings.all(meterId) as [string, Buffer, Buffer][];
  return buildLeaves(meterId, rows.length, { seq: (i) => seqFromKey(rows[i]![0]), keyId: (i) => rows[i]![1], bytes: (i) => rows[i]![2] });
}
