// FOR DEMONSTRATION AND TESTS ONLY: simulates an insider who edits the collector's database at rest
// (docs/threat-model.md T-I1), so that the demo (`--tamper N`) and the tests can show that reconciliation
// finds every such edit and names the meter and seq. It writes with plain SQL through its own connection,
// exactly as someone with the sqlite3 shell and a script would: the stored bytes are decoded, a value changed and
// the bytes written back canonical but not signed again. Nothing in the collector calls it.
import Database from 'better-sqlite3';
import { decodeReading, encodeReading, parseObis, type Reading } from '@meterseal/protocol';
import { CollectorError } from './errors.js';
import { seqFromKey, seqKey } from './sqlite-schema.js';
import { SqliteCollectorStore } from './sqlite-store.js';
import type { CollectorStore } from './store.js';

/** Active energy import, total (IEC 62056-6-1: 1.0.1.8.0.255) — what a bill is computed from. */
export const ENERGY_OBIS = '1.0.1.8.0.255';
const ENERGY_OBIS_BYTES = Buffer.from(parseObis(ENERGY_OBIS));
const I64_MAX = (1n << 63n) - 1n;

function decodeOrNull(bytes: Uint8Array): Reading | null {
  try {
    return decodeReading(new Uint8Array(bytes));
  } catch {
    return null; // already broken at rest
  }
}

export interface TamperedReading {
  meterId: string;
  seq: bigint;
}

function pathOf(target: CollectorStore | string): string {
  if (typeof target === 'string') return target;
  if (target instanceof SqliteCollectorStore) return target.path;
  throw new CollectorError('STORE_FAILED', `the insider works on SQLite stores, not ${target.backend}`);
}

/**
 * Replaces the stored bytes of one reading with `edit(decoded reading, stored bytes)`: a Reading is encoded
 * (canonical bytes of the edited values, NOT signed again), bytes are written as they are. Returns false if
 * no such reading is stored.
 */
export function editStoredReading(target: CollectorStore | string, meterId: string, seq: bigint, edit: (r: Reading, stored: Uint8Array) => Reading | Uint8Array): boolean {
  const db = new Database(pathOf(target));
  try {
    db.pragma('busy_timeout = 5000');
    const stored = db.prepare(`SELECT reading FROM readings WHERE meter_id = ? AND seq = ?`).pluck(true).get(meterId, seqKey(seq)) as Buffer | undefined;
    if (stored === undefined) return false;
    const edited = edit(decodeReading(new Uint8Array(stored)), new Uint8Array(stored));
    const out = edited instanceof Uint8Array ? edited : encodeReading(edited);
    db.prepare(`UPDATE readings SET reading = ? WHERE meter_id = ? AND seq = ?`).run(Buffer.from(out), meterId, seqKey(seq));
    return true;
  } finally {
    db.close();
  }
}

/**
 * Changes the stored energy register value of `n` distinct readings, picked with `rng` (default
 * Math.random), by rewriting their stored bytes with a direct UPDATE. Returns what it changed, ordered by
 * meter and seq. Throws NOT_ENOUGH_READINGS if fewer than n stored readings have an energy register.
 */
export function tamperStoredReadings(target: CollectorStore | string, n: number, rng: () => number = Math.random): TamperedReading[] {
  const path = pathOf(target);
  if (!Number.isInteger(n) || n < 0) throw new CollectorError('STORE_FAILED', `n must be a non-negative integer, got ${n}`);

  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 5000');
    // the readings whose bytes hold the energy OBIS code, found by SQLite (instr on BLOBs compares bytes) and
    // taken by their position in (meter, seq) order: a store of 10^7 readings is searched without reading it out
    const holding = `FROM readings WHERE instr(reading, ?) > 0`;
    const count = Number(db.prepare(`SELECT count(*) ${holding}`).pluck(true).get(ENERGY_OBIS_BYTES) as bigint);
    const nth = db.prepare(`SELECT meter_id, seq, reading ${holding} ORDER BY meter_id, seq LIMIT 1 OFFSET ?`).raw(true);
    const swapped = new Map<number, number>(); // partial Fisher-Yates over 0..count-1, only the touched entries kept
    const at = (i: number): number => swapped.get(i) ?? i;
    const picked: { meterId: string; seqText: string; reading: Reading }[] = [];
    for (let i = 0; picked.length < n && i < count; i++) {
      const j = i + Math.floor(rng() * (count - i));
      const [vi, vj] = [at(i), at(j)];
      swapped.set(i, vj);
      swapped.set(j, vi);
      const [meterId, seqText, bytes] = nth.get(ENERGY_OBIS_BYTES, vj) as [string, string, Buffer];
      const reading = decodeOrNull(bytes);
      // the six bytes may sit in a raw value or the salt: only a decoded energy register counts
      if (reading?.registers.some((g) => g.obis === ENERGY_OBIS)) picked.push({ meterId, seqText, reading });
    }
    if (picked.length < n) {
      throw new CollectorError('NOT_ENOUGH_READINGS', `asked to alter ${n} readings, but only ${picked.length} have an energy register`);
    }
    const update = db.prepare(`UPDATE readings SET reading = ? WHERE meter_id = ? AND seq = ?`);
    db.transaction(() => {
      for (const c of picked) {
        const registers = c.reading.registers.map((g) => {
          if (g.obis !== ENERGY_OBIS) return g;
          const delta = BigInt(1 + Math.floor(rng() * 1000)); // a few Wh less on the bill
          return { ...g, value: g.value - delta >= -I64_MAX ? g.value - delta : g.value + delta };
        });
        update.run(Buffer.from(encodeReading({ ...c.reading, registers })), c.meterId, c.seqText);
      }
    })();
    return picked
      .map((c) => ({ meterId: c.meterId, seq: seqFromKey(c.seqText) }))
      .sort((a, b) => (a.meterId < b.meterId ? -1 : a.meterId > b.meterId ? 1 : a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  } finally {
    db.close();
  }
}
