// FOR DEMONSTRATION AND TESTS ONLY: simulates an insider who edits the collector's database at rest
// (docs/threat-model.md T-I1), so that the demo (`--tamper N`) and the tests can show that reconciliation
// finds every such edit and names the meter and seq. It writes with plain SQL through its own connection,
// exactly as someone with the sqlite3 shell would; nothing in the collector calls it.
import Database from 'better-sqlite3';
import { CollectorError } from './errors.js';
import { seqFromKey } from './sqlite-schema.js';
import { SqliteCollectorStore } from './sqlite-store.js';
import type { CollectorStore } from './store.js';

/** Active energy import, total (IEC 62056-6-1: 1.0.1.8.0.255) — what a bill is computed from. */
export const ENERGY_OBIS = '1.0.1.8.0.255';
const I64_MAX = (1n << 63n) - 1n;

export interface TamperedReading {
  meterId: string;
  seq: bigint;
}

/**
 * Changes the stored energy register value of `n` distinct readings, picked with `rng` (default
 * Math.random), by a direct UPDATE. Returns what it changed, ordered by meter and seq. Throws
 * NOT_ENOUGH_READINGS if fewer than n stored readings have an energy register.
 */
export function tamperStoredReadings(target: CollectorStore | string, n: number, rng: () => number = Math.random): TamperedReading[] {
  let path: string;
  if (typeof target === 'string') path = target;
  else if (target instanceof SqliteCollectorStore) path = target.path;
  else throw new CollectorError('STORE_FAILED', `tamperStoredReadings works on SQLite stores, not ${target.backend}`);
  if (!Number.isInteger(n) || n < 0) throw new CollectorError('STORE_FAILED', `n must be a non-negative integer, got ${n}`);

  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 5000');
    db.defaultSafeIntegers(true);
    const candidates = db
      .prepare(`SELECT meter_id, seq, value FROM registers WHERE obis = ? ORDER BY meter_id, seq`)
      .all(ENERGY_OBIS) as { meter_id: string; seq: string; value: string }[];
    if (candidates.length < n) {
      throw new CollectorError('NOT_ENOUGH_READINGS', `asked to alter ${n} readings, but only ${candidates.length} have an energy register`);
    }
    // partial Fisher-Yates: the first n of a random permutation
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(rng() * (candidates.length - i));
      [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    }
    const picked = candidates.slice(0, n);
    const update = db.prepare(`UPDATE registers SET value = ? WHERE meter_id = ? AND seq = ? AND obis = ?`);
    db.transaction(() => {
      for (const c of picked) {
        const value = BigInt(c.value);
        const delta = BigInt(1 + Math.floor(rng() * 1000)); // a few Wh less on the bill
        const changed = value - delta >= -I64_MAX ? value - delta : value + delta;
        update.run(changed.toString(10), c.meter_id, c.seq, ENERGY_OBIS);
      }
    })();
    return picked
      .map((c) => ({ meterId: c.meter_id, seq: seqFromKey(c.seq) }))
      .sort((a, b) => (a.meterId < b.meterId ? -1 : a.meterId > b.meterId ? 1 : a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  } finally {
    db.close();
  }
}
