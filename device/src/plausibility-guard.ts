// One scan of the meter, judged before it is signed: the meter's identity against the pin (meter-identity.ts),
// its clock against the agent's (plausibility-clock.ts), its energy registers against the previous reading
// (plausibility.ts). The verdict becomes the reading's v2 fields and status flags (docs/protocol.md §3).
import { MAX_METER_IDENTITY_BYTES, StatusFlag, assertMeterIdentity, type ClockSyncState } from '@meterseal/protocol';
import { loadDlmsProfile, loadDlt645Profile, loadProfile, type Dlt645Profile, type MeterProfile } from '@meterseal/hardware';
import type { AgentConfig } from './config.js';
import type { Logger } from 'pino';
import { AgentError } from './errors.js';
import type { MeterSnapshot, MeterSource } from './meter/source.js';
import { MeterIdentityPin, type MeterExchange, type MeterPin } from './meter-identity.js';
import { MeterClockPolicy, type ClockAction, type ClockJudgement, type ClockPolicyConfig } from './plausibility-clock.js';
import { RegisterPlausibility, type PlausibilityLimits, type RegisterFinding, type RegisterLimit } from './plausibility.js';
import type { ReadingContext } from './reading-builder.js';

const CLOCK_SET_PENDING = 'meter_clock_set_pending';

export interface ScanGuardConfig {
  /** config meter.identity: the provisioned identity, or undefined to pin the first one read. */
  identity?: string;
  clock: ClockPolicyConfig;
  limits: PlausibilityLimits;
}

export interface JudgedScan {
  snapshot: MeterSnapshot;
  agentTimeMs: bigint;
  clockSync: ClockSyncState;
  clock: ClockJudgement;
  findings: RegisterFinding[];
  /** What buildReading needs beside the samples. */
  context: ReadingContext;
}

/** Register limits from a hardware profile: explicit rollover / maxRatePerHour, the profile's maxPowerW. */
export function limitsFromProfile(profile: MeterProfile | Dlt645Profile | null, overrides: { maxPowerW?: number } = {}): PlausibilityLimits {
  const registers = new Map<string, RegisterLimit>();
  const defs: ReadonlyArray<{ obis: string; rollover?: number; maxRatePerHour?: number }> = profile
    ? 'registers' in profile ? profile.registers : profile.identifiers
    : [];
  for (const d of defs) {
    const limit: RegisterLimit = {};
    if (d.rollover !== undefined) limit.rollover = d.rollover;
    if (d.maxRatePerHour !== undefined) limit.maxRatePerHour = d.maxRatePerHour;
    if (limit.rollover !== undefined || limit.maxRatePerHour !== undefined) registers.set(d.obis, limit);
  }
  const maxPowerW = overrides.maxPowerW ?? profile?.maxPowerW;
  return maxPowerW === undefined ? { registers } : { maxPowerW, registers };
}

/** The agent's limits: its profile's (Modbus and DL/T 645 profiles carry maxPowerW and rollovers), config overrides. */
export function profileLimits(config: Pick<AgentConfig, 'serial' | 'plausibility'>, log: Logger): PlausibilityLimits {
  const overrides = config.plausibility.maxPowerW !== undefined ? { maxPowerW: config.plausibility.maxPowerW } : {};
  try {
    const { protocol, profile } = config.serial;
    if (protocol === 'dlms') {
      // A DLMS profile's rollover is the largest unscaled register integer (a decimal string); the register
      // wraps to 0 one step later, so the modulus is (rollover + 1) × 10^scaler in the physical unit.
      const limits = limitsFromProfile(null, overrides);
      for (const r of loadDlmsProfile(profile).registers) {
        if (r.rollover !== null) limits.registers.set(r.obis, { rollover: (Number(r.rollover) + 1) * 10 ** r.scaler });
      }
      return limits;
    }
    const p = protocol === 'modbus' ? loadProfile(profile) : protocol === 'dlt645' ? loadDlt645Profile(profile) : null;
    return limitsFromProfile(p, overrides);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'no plausibility limits from the profile');
    return limitsFromProfile(null, overrides);
  }
}

/** A meter identity as the reading carries it: trimmed; anything a reading cannot carry is refused. */
export function normaliseIdentity(raw: string | null): string | null {
  if (raw === null) return null;
  const id = raw.trim();
  try {
    assertMeterIdentity(id);
  } catch (cause) {
    throw new AgentError('BAD_METER_IDENTITY', `the meter reported an identity a reading cannot carry (1..${MAX_METER_IDENTITY_BYTES} bytes, no control characters)`, { cause });
  }
  return id;
}

export class ScanGuard {
  readonly identity: MeterIdentityPin;
  readonly clock: MeterClockPolicy;
  readonly registers: RegisterPlausibility;
  readonly #log: Logger;

  constructor(dataDir: string, dbPath: string, config: ScanGuardConfig, log: Logger) {
    this.#log = log;
    this.identity = new MeterIdentityPin(dataDir, config.identity, log);
    this.clock = new MeterClockPolicy(config.clock, dataDir, log);
    this.registers = new RegisterPlausibility(dbPath, config.limits);
  }

  /** Throws AgentError METER_EXCHANGED (nothing may be signed) when the meter is not the pinned one. */
  judge(snapshot: MeterSnapshot, agentTimeMs: bigint, clockSync: ClockSyncState): JudgedScan {
    const meterIdentity = normaliseIdentity(snapshot.meterIdentity);
    const verdict = this.identity.check(meterIdentity, Number(agentTimeMs));
    if (!verdict.ok) {
      const { expected, found } = verdict.exchange;
      throw new AgentError('METER_EXCHANGED', `meter exchange: expected meter "${expected}", found "${found}"; not signing until an operator clears the pin`);
    }
    const clock = this.clock.judge(snapshot.meterClock, agentTimeMs);
    const plausibility = this.registers.judge(snapshot.samples, agentTimeMs);
    for (const f of plausibility.findings) {
      if (f.flag !== 'wrapped') this.#log.warn({ ...f, previous: f.previous.toString(), current: f.current.toString() }, `implausible register: ${f.flag}`);
      else this.#log.info({ obis: f.obis }, 'energy register wrapped past its rollover value');
    }
    let flags = clock.flags | plausibility.flags;
    if (this.registers.getState(CLOCK_SET_PENDING) !== null) flags |= StatusFlag.MeterClockSet;
    const mc = snapshot.meterClock;
    return {
      snapshot, agentTimeMs, clockSync, clock, findings: plausibility.findings,
      context: {
        retried: snapshot.retries > 0,
        meterTimeMs: mc?.timeMs ?? null,
        meterIdentity,
        meterClockDeviationMin: mc?.deviationMin ?? null,
        meterClockStatus: mc?.status ?? null,
        flags,
        agentTimeMs,
        clockSync,
      },
    };
  }

  /** The judged scan's reading is queued: its values become "previous", a pending clock-set flag is spent. */
  commit(j: JudgedScan): void {
    this.registers.commit(j.snapshot.samples, j.agentTimeMs);
    if (((j.context.flags ?? 0) & StatusFlag.MeterClockSet) !== 0) this.registers.setState(CLOCK_SET_PENDING, null);
  }

  /** After the reading is queued: the clock policy may set the meter's clock; the next reading says so. */
  async afterReading(source: MeterSource, j: JudgedScan): Promise<ClockAction> {
    const action = await this.clock.apply(source, j.snapshot.meterClock, j.clock, j.agentTimeMs, j.clockSync, j.context.meterIdentity ?? null);
    // Any attempt counts: a write that timed out may still have reached the meter.
    if (action.action === 'set') this.registers.setState(CLOCK_SET_PENDING, action.record.at);
    return action;
  }

  get meterExchange(): MeterExchange | null {
    return this.identity.exchange;
  }

  get meterPin(): MeterPin | null {
    return this.identity.pin;
  }

  /** The operator action that ends a meter exchange: see MeterIdentityPin.clear. */
  clearMeterPin(note?: string): { cleared: MeterPin | null } {
    return this.identity.clear(note);
  }

  close(): void {
    this.registers.close();
  }
}
