// A deterministic single-phase household: what the virtual meter measures.
// Randomness is counter-based (a hash of seed, stream and time slot), so a value depends only on the seed
// and the instant — never on how often or in what order the model is sampled.

/** Share of the household's variable load by UTC hour (night trough, morning and evening peaks). */
const DAILY_CURVE = [
  0.35, 0.3, 0.28, 0.28, 0.3, 0.4, 0.7, 1.0, 1.05, 0.85, 0.75, 0.75,
  0.85, 0.8, 0.75, 0.75, 0.85, 1.1, 1.5, 1.7, 1.6, 1.3, 0.95, 0.6,
];
const BASE_LOAD_W = 120; // fridge, standby, router
const VARIABLE_LOAD_W = 380;
const APPLIANCE_W = 2000; // kettle, oven, washing-machine heater
const APPLIANCE_CHANCE = 0.04; // per minute
const POWER_SLOT_MS = 60_000; // power is constant within a minute
const GRID_SLOT_MS = 1_000; // voltage and frequency change every second
const MW_MS_PER_MWH = 3_600_000n; // 1 mWh = 1 mW × 3 600 000 ms

const STREAM = { load: 1, appliance: 2, pf: 3, voltage: 4, frequency: 5 } as const;

/** 32-bit avalanche hash of (seed, stream, slot) → [0, 1). */
function unit(seed: number, stream: number, slot: number): number {
  let h = (seed ^ Math.imul(stream, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (slot >>> 0), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ Math.floor(slot / 0x100000000), 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 0x100000000;
}

export interface MeterModelOptions {
  seed?: number;
  /** Multiplies the household's power (0 = no load). */
  loadScale?: number;
  /** Import energy register at the model's first instant, Wh. */
  initialEnergyWh?: number;
  /** UTC epoch milliseconds; inject a fake clock for deterministic tests. */
  clock?: () => number;
}

export interface MeterSnapshot {
  timeMs: number;
  voltageV: number;
  currentA: number;
  activePowerW: number;
  reactivePowerVar: number;
  apparentPowerVA: number;
  powerFactor: number;
  frequencyHz: number;
  /** Active energy imported since the meter was made, mWh, exact. */
  energyImportMilliWh: bigint;
  /** This household never exports. */
  energyExportMilliWh: bigint;
}

export class MeterModel {
  readonly seed: number;
  readonly loadScale: number;
  private readonly clock: () => number;
  private lastMs: number;
  /** Accumulated import energy in mW·ms, so integration never rounds. */
  private energyMwMs: bigint;

  constructor(options: MeterModelOptions = {}) {
    this.seed = (options.seed ?? 1) >>> 0;
    this.loadScale = options.loadScale ?? 1;
    this.clock = options.clock ?? Date.now;
    const initialMilliWh = BigInt(Math.round((options.initialEnergyWh ?? 0) * 1000));
    this.energyMwMs = initialMilliWh * MW_MS_PER_MWH;
    this.lastMs = Math.floor(this.clock());
  }

  /** Active power at instant t, integer milliwatts (constant within each UTC minute). */
  powerMilliWatts(tMs: number): number {
    const slot = Math.floor(tMs / POWER_SLOT_MS);
    const hour = ((((slot * POWER_SLOT_MS) / 3_600_000) % 24) + 24) % 24; // the slot's start: constant within it
    const h0 = Math.floor(hour);
    const curve = DAILY_CURVE[h0]! + (DAILY_CURVE[(h0 + 1) % 24]! - DAILY_CURVE[h0]!) * (hour - h0);
    const noise = 1 + 0.3 * (unit(this.seed, STREAM.load, slot) - 0.5); // ±15 %
    let w = (BASE_LOAD_W + VARIABLE_LOAD_W * curve) * noise;
    if (unit(this.seed, STREAM.appliance, slot) < APPLIANCE_CHANCE) w += APPLIANCE_W;
    return Math.round(w * this.loadScale * 1000);
  }

  /** Power factor at instant t: 0.90..0.98, near 1 while a resistive appliance dominates. */
  powerFactorAt(tMs: number): number {
    const slot = Math.floor(tMs / POWER_SLOT_MS);
    if (unit(this.seed, STREAM.appliance, slot) < APPLIANCE_CHANCE) return 0.99;
    return 0.9 + 0.08 * unit(this.seed, STREAM.pf, slot);
  }

  /** Integrates power up to the clock's now and returns everything the meter would show. */
  snapshot(): MeterSnapshot {
    const now = this.advance();
    const pW = this.powerMilliWatts(now) / 1000;
    const pf = this.powerFactorAt(now);
    const gridSlot = Math.floor(now / GRID_SLOT_MS);
    const hour = (((now / 3_600_000) % 24) + 24) % 24;
    const sag = 2.5 * (DAILY_CURVE[Math.floor(hour)]! - 0.8); // voltage drops at the evening peak
    const voltageV = 231 - sag + 2 * (unit(this.seed, STREAM.voltage, gridSlot) - 0.5);
    const frequencyHz = 50 + 0.08 * (unit(this.seed, STREAM.frequency, gridSlot) - 0.5);
    const apparentPowerVA = pW / pf;
    return {
      timeMs: now,
      voltageV,
      currentA: apparentPowerVA / voltageV, // I = S / U
      activePowerW: pW,
      reactivePowerVar: apparentPowerVA * Math.sin(Math.acos(pf)), // inductive load: Q > 0
      apparentPowerVA,
      powerFactor: pf,
      frequencyHz,
      energyImportMilliWh: this.energyMwMs / MW_MS_PER_MWH,
      energyExportMilliWh: 0n,
    };
  }

  /** Import energy up to the clock's now, mWh. */
  energyImportMilliWh(): bigint {
    this.advance();
    return this.energyMwMs / MW_MS_PER_MWH;
  }

  /** E += Σ P(slot) × overlap, exact in mW·ms. A clock that steps backwards adds nothing. */
  private advance(): number {
    const now = Math.floor(this.clock());
    let t = this.lastMs;
    while (t < now) {
      const slotEnd = (Math.floor(t / POWER_SLOT_MS) + 1) * POWER_SLOT_MS;
      const until = Math.min(slotEnd, now);
      this.energyMwMs += BigInt(this.powerMilliWatts(t)) * BigInt(until - t);
      t = until;
    }
    if (now > this.lastMs) this.lastMs = now;
    return Math.max(now, this.lastMs);
  }
}
