// Issue 4 item 7: the meter's clock. The agent compares it with its own clock on every reading (drift beyond
// tolerance -> StatusFlag.MeterClockDriftBeyondTolerance) and sets it ONLY under an explicit policy
// (config clock.set "when-drift-exceeds"), only when its own clock is known synchronised, never by more
// than clock.maxStepS, and records every setting in <dataDir>/meter-clock-settings.jsonl (append-only).
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClockSync, StatusFlag, type ClockSyncState } from '@meterseal/protocol';
import type { Logger } from 'pino';
import type { MeterClock, MeterSource } from './meter/source.js';

export const CLOCK_LOG_FILE = 'meter-clock-settings.jsonl';

export interface ClockPolicyConfig {
  set: 'never' | 'when-drift-exceeds';
  /** |meter time − agent time| above this raises the drift flag (and, under the policy, a setting). */
  driftToleranceS: number;
  /** The agent refuses to step the meter's clock by more than this; an operator must set it. */
  maxStepS: number;
}

export interface ClockJudgement {
  /** meterTime − agentTime in ms, or null when the meter has no clock. */
  driftMs: bigint | null;
  flags: number;
}

/** One line of meter-clock-settings.jsonl. */
export interface ClockSettingRecord {
  at: string;
  meterIdentity: string | null;
  meterTimeMs: string;
  agentTimeMs: string;
  driftMs: string;
  setToMs: string;
  ok: boolean;
  error?: string;
}

export type ClockAction =
  | { action: 'none'; reason: 'no-clock' | 'policy-never' | 'within-tolerance' | 'agent-clock-not-synchronised' | 'source-cannot-set' }
  | { action: 'refused'; reason: 'step-too-large'; driftMs: bigint }
  | { action: 'set'; record: ClockSettingRecord };

export class MeterClockPolicy {
  readonly #config: ClockPolicyConfig;
  readonly #logPath: string;
  readonly #log: Logger;

  constructor(config: ClockPolicyConfig, dataDir: string, log: Logger) {
    this.#config = config;
    this.#logPath = join(dataDir, CLOCK_LOG_FILE);
    this.#log = log;
  }

  get logPath(): string {
    return this.#logPath;
  }

  judge(clock: MeterClock | null, agentTimeMs: bigint): ClockJudgement {
    if (!clock) return { driftMs: null, flags: 0 };
    const driftMs = clock.timeMs - agentTimeMs;
    const abs = driftMs < 0n ? -driftMs : driftMs;
    const beyond = abs > BigInt(Math.round(this.#config.driftToleranceS * 1000));
    return { driftMs, flags: beyond ? StatusFlag.MeterClockDriftBeyondTolerance : 0 };
  }

  /**
   * After a reading is queued: sets the meter's clock if, and only if, the policy allows it. Every setting
   * attempt (succeeded or failed) is appended to the JSONL record before this returns.
   */
  async apply(source: MeterSource, clock: MeterClock | null, judged: ClockJudgement, agentTimeMs: bigint, clockSync: ClockSyncState, meterIdentity: string | null): Promise<ClockAction> {
    if (!clock || judged.driftMs === null) return { action: 'none', reason: 'no-clock' };
    if (this.#config.set === 'never') return { action: 'none', reason: 'policy-never' };
    if ((judged.flags & StatusFlag.MeterClockDriftBeyondTolerance) === 0) return { action: 'none', reason: 'within-tolerance' };
    if (clockSync !== ClockSync.Synchronised) {
      this.#log.warn({ driftMs: judged.driftMs.toString() }, 'meter clock drifts beyond tolerance, but the agent clock is not known synchronised: not setting it');
      return { action: 'none', reason: 'agent-clock-not-synchronised' };
    }
    if (!source.setClock) return { action: 'none', reason: 'source-cannot-set' };
    const abs = judged.driftMs < 0n ? -judged.driftMs : judged.driftMs;
    if (abs > BigInt(Math.round(this.#config.maxStepS * 1000))) {
      this.#log.error({ driftMs: judged.driftMs.toString(), maxStepS: this.#config.maxStepS }, 'meter clock drift exceeds clock.maxStepS: refusing to set it; an operator must');
      return { action: 'refused', reason: 'step-too-large', driftMs: judged.driftMs };
    }
    const setToMs = BigInt(Date.now()); // explicit UTC epoch ms, at the moment of setting
    const record: ClockSettingRecord = {
      at: new Date(Number(setToMs)).toISOString(),
      meterIdentity,
      meterTimeMs: clock.timeMs.toString(),
      agentTimeMs: agentTimeMs.toString(),
      driftMs: judged.driftMs.toString(),
      setToMs: setToMs.toString(),
      ok: false,
    };
    try {
      await source.setClock(setToMs);
      record.ok = true;
      this.#log.warn({ driftMs: record.driftMs, setToMs: record.setToMs }, 'meter clock set by the agent (clock.set policy)');
    } catch (err) {
      record.error = (err as Error).message;
      this.#log.error({ err: record.error }, 'setting the meter clock failed');
    }
    appendFileSync(this.#logPath, JSON.stringify(record) + '\n', { mode: 0o600 });
    return { action: 'set', record };
  }
}
