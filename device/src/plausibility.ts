// Issue 4 item 8: plausibility of energy registers against the previous reading of the same register.
// The agent never changes a value; it signs flags beside it (docs/protocol.md §3, StatusFlag bits 3-4).
// The last values live in the agent's SQLite database (table plausibility_last) so a restart keeps them.
import Database from 'better-sqlite3';
import { StatusFlag } from '@meterseal/protocol';
import type { Sample } from './reading-builder.js';

/** What the profile (or config) says about one register. Values in the register's physical unit. */
export interface RegisterLimit {
  /** The register wraps to 0 when it reaches this value (physical unit, e.g. Wh). */
  rollover?: number;
  /** The largest plausible increase per hour (physical unit per hour, e.g. Wh/h); overrides maxPowerW. */
  maxRatePerHour?: number;
}

export interface PlausibilityLimits {
  /** The meter's maximum power (W = Wh/h), from the profile: bounds every active energy register. */
  maxPowerW?: number;
  /** By OBIS code. */
  registers: Map<string, RegisterLimit>;
}

/** Cumulative registers: the only ones that must never go backwards. */
const CUMULATIVE_UNITS = new Set(['Wh', 'varh', 'VAh']);
/** A register's resolution (e.g. 0.01 kWh steps) and rounding must never raise a jump: this much slack. */
const JUMP_SLACK_FRACTION = 0.02;
const JUMP_SLACK_STEPS = 2;
/** Without a known maximum, a fall from the top tenth of the range into the bottom tenth is a wrap. */
const WRAP_BAND = 0.1;

export interface RegisterFinding {
  obis: string;
  flag: 'went-backwards' | 'jump' | 'wrapped';
  previous: bigint;
  current: bigint;
  /** The increase, physical unit (after a wrap: the increase through the rollover). */
  increase?: number;
  /** The largest increase the limits allowed for the elapsed time. */
  allowed?: number;
}

export interface PlausibilityResult {
  flags: number;
  findings: RegisterFinding[];
}

interface LastValue {
  value: bigint;
  scaler: number;
  agentTimeMs: bigint;
}

const physical = (v: bigint, scaler: number): number => Number(v) * 10 ** scaler;

export class RegisterPlausibility {
  readonly #db: Database.Database;
  readonly #limits: PlausibilityLimits;

  /** Opens (creating if needed) the plausibility tables in the agent's SQLite database at `path`. */
  constructor(path: string, limits: PlausibilityLimits) {
    this.#limits = limits;
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.defaultSafeIntegers(true);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS plausibility_last (
        obis TEXT PRIMARY KEY,
        value TEXT NOT NULL,          -- the integer value as signed (bigint as decimal text)
        scaler INTEGER NOT NULL,
        agent_time_ms INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS plausibility_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
  }

  #last(obis: string): LastValue | null {
    const row = this.#db.prepare(`SELECT value, scaler, agent_time_ms FROM plausibility_last WHERE obis = ?`).get(obis) as
      | { value: string; scaler: bigint; agent_time_ms: bigint }
      | undefined;
    return row ? { value: BigInt(row.value), scaler: Number(row.scaler), agentTimeMs: row.agent_time_ms } : null;
  }

  #allowed(obis: string, elapsedMs: number): number | undefined {
    const limit = this.#limits.registers.get(obis);
    const perHour = limit?.maxRatePerHour ?? (isActiveEnergy(obis) ? this.#limits.maxPowerW : undefined);
    if (perHour === undefined || elapsedMs <= 0) return undefined; // no bound known, or the agent clock went back
    return (perHour * elapsedMs) / 3_600_000;
  }

  /** Judges one scan against the last committed values. Does not store anything (see commit). */
  judge(samples: readonly Sample[], agentTimeMs: bigint): PlausibilityResult {
    let flags = 0;
    const findings: RegisterFinding[] = [];
    for (const s of samples) {
      if (!CUMULATIVE_UNITS.has(s.unit) || isNetEnergy(s.obis)) continue;
      const prev = this.#last(s.obis);
      if (!prev) continue;
      const step = 10 ** s.scaler;
      const before = physical(prev.value, prev.scaler);
      const now = physical(s.value, s.scaler);
      const allowed = this.#allowed(s.obis, Number(agentTimeMs - prev.agentTimeMs));
      let increase = now - before;
      if (increase < 0) {
        const rollover = this.#limits.registers.get(s.obis)?.rollover;
        const through = rollover === undefined ? undefined : rollover - before + now;
        const wrapped = through !== undefined && through >= 0 &&
          (allowed !== undefined ? through <= allowed * (1 + JUMP_SLACK_FRACTION) + JUMP_SLACK_STEPS * step
            : before >= rollover! * (1 - WRAP_BAND) && now < rollover! * WRAP_BAND);
        if (!wrapped) {
          flags |= StatusFlag.RegisterWentBackwards;
          findings.push({ obis: s.obis, flag: 'went-backwards', previous: prev.value, current: s.value });
          continue;
        }
        increase = through!;
        findings.push({ obis: s.obis, flag: 'wrapped', previous: prev.value, current: s.value, increase });
      }
      if (allowed !== undefined && increase > allowed * (1 + JUMP_SLACK_FRACTION) + JUMP_SLACK_STEPS * step) {
        flags |= StatusFlag.JumpBeyondPhysicalMaximum;
        findings.push({ obis: s.obis, flag: 'jump', previous: prev.value, current: s.value, increase, allowed });
      }
    }
    return { flags, findings };
  }

  /** Stores the scan's values as "previous" once its reading is queued. */
  commit(samples: readonly Sample[], agentTimeMs: bigint): void {
    const put = this.#db.prepare(
      `INSERT INTO plausibility_last (obis, value, scaler, agent_time_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (obis) DO UPDATE SET value = excluded.value, scaler = excluded.scaler, agent_time_ms = excluded.agent_time_ms`,
    );
    this.#db.transaction(() => {
      for (const s of samples) if (CUMULATIVE_UNITS.has(s.unit)) put.run(s.obis, s.value.toString(10), s.scaler, agentTimeMs);
    })();
  }

  /** A small persistent flag store (the clock policy's "set since the previous reading"). */
  getState(key: string): string | null {
    const row = this.#db.prepare(`SELECT value FROM plausibility_state WHERE key = ?`).get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  setState(key: string, value: string | null): void {
    if (value === null) this.#db.prepare(`DELETE FROM plausibility_state WHERE key = ?`).run(key);
    else this.#db.prepare(`INSERT INTO plausibility_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(key, value);
  }

  close(): void {
    this.#db.close();
  }
}

/** OBIS value group C 1, 2, 15, 16 with D = 8 (IEC 62056-6-1 §7.5: active energy import, export, |sum|, net). */
function isActiveEnergy(obis: string): boolean {
  const [a, , c, d] = obis.split('.');
  return a === '1' && d === '8' && ['1', '2', '15', '16'].includes(c ?? '');
}

/** OBIS C = 16 (+A − (−A), net): falls whenever export exceeds import, so it is never "backwards". */
function isNetEnergy(obis: string): boolean {
  return obis.split('.')[2] === '16';
}
