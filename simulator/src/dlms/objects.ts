// The COSEM objects of the simulated meter (IEC 62056-6-2 interface classes), built from a DLMS hardware
// profile and the shared MeterModel: Register (3) value/scaler_unit, Data (1), Clock (8) and the load
// profile, a Profile generic (7) whose buffer is computed from the model's power curve.
import type { DlmsProfile, DlmsRegisterDef } from '@meterseal/hardware';
import { SimulatorError } from '../errors.js';
import type { MeterModel, MeterSnapshot } from '../meter-model.js';
import { TariffRegisters } from '../dlt645/registers.js';
import { dateTime, dateTimeMs, int, octets, struct, type Val } from './axdr.js';

// IEC 62056-6-2 §4.3.2, units of scaler_unit (same codes as @meterseal/protocol's units).
const UNIT_CODE: Record<string, number> = { W: 27, VA: 28, var: 29, Wh: 30, VAh: 31, varh: 32, A: 33, V: 35, Hz: 44, '1': 255 };
// Data-Access-Result (IEC 62056-5-3 §8)
export const ACCESS = { readWriteDenied: 3, objectUndefined: 4, objectUnavailable: 11, typeUnmatched: 12, otherReason: 250 } as const;

type Source = { kind: 'energy'; mwh: (s: MeterSnapshot, t: TariffRegisters) => bigint } | { kind: 'instant'; type: 'long-unsigned' | 'double-long'; of: (s: MeterSnapshot) => number };

const tariff = (n: 1 | 2 | 3 | 4): Source => ({ kind: 'energy', mwh: (_s, t) => t.milliWh(n) });
// Where each OBIS code's value comes from (IEC 62056-6-1 value groups C.D.E).
const SOURCES: Record<string, Source> = {
  '1.0.1.8.0.255': { kind: 'energy', mwh: (s) => s.energyImportMilliWh },
  '1.0.2.8.0.255': { kind: 'energy', mwh: (s) => s.energyExportMilliWh },
  '1.0.1.8.1.255': tariff(1),
  '1.0.1.8.2.255': tariff(2),
  '1.0.1.8.3.255': tariff(3),
  '1.0.1.8.4.255': tariff(4),
  '1.0.32.7.0.255': { kind: 'instant', type: 'long-unsigned', of: (s) => s.voltageV },
  '1.0.31.7.0.255': { kind: 'instant', type: 'long-unsigned', of: (s) => s.currentA },
  '1.0.1.7.0.255': { kind: 'instant', type: 'double-long', of: (s) => s.activePowerW },
};

const obisBytes = (o: string): Uint8Array => Uint8Array.from(o.split('.').map(Number));

export interface DlmsObjectsOptions {
  serialNumber: string;
  logicalDeviceName: string;
  /** How far the meter's clock is ahead of true UTC, ms (a drifting meter clock). */
  clockOffsetMs: number;
  /** clock_status byte sent with the time (0x00 ok; 0x01 invalid, 0x02 doubtful …). */
  clockStatus: number;
  loadProfileDays: number;
  now: () => number;
}

export class DlmsObjects {
  private readonly tariffs: TariffRegisters;
  private readonly registers = new Map<string, DlmsRegisterDef>();

  constructor(readonly profile: DlmsProfile, readonly model: MeterModel, private readonly o: DlmsObjectsOptions) {
    this.tariffs = new TariffRegisters(model.energyImportMilliWh());
    for (const r of profile.registers) {
      if (!SOURCES[r.obis]) throw new SimulatorError('PROFILE', `profile ${profile.id}: the simulator has no value for ${r.obis}`);
      if (SOURCES[r.obis]!.kind === 'energy' && (r.scaler < -3 || r.unit !== 'Wh')) throw new SimulatorError('PROFILE', `profile ${profile.id}: ${r.obis} must be Wh with scaler ≥ -3`);
      this.registers.set(r.obis, r);
    }
  }

  /** The value of one attribute, or a Data-Access-Result. */
  get(classId: number, obis: string, attribute: number, access?: { selector: number; parameters: Val }): Val | { error: number } {
    if (attribute === 1) return this.exists(classId, obis) ? octets(obisBytes(obis)) : { error: ACCESS.objectUndefined };
    const reg = this.registers.get(obis);
    if (reg) {
      if (classId !== reg.classId) return { error: ACCESS.objectUndefined };
      if (attribute === 2) return this.registerValue(reg);
      if (attribute === 3 && reg.classId !== 1) return struct(int('integer', reg.scaler), int('enum', UNIT_CODE[reg.unit]!));
      return { error: ACCESS.objectUnavailable };
    }
    if (obis === this.profile.clock.obis && classId === 8) {
      if (attribute === 2) return octets(dateTime(this.o.now() + this.o.clockOffsetMs, this.o.clockStatus));
      if (attribute === 3) return int('long', 0); // time_zone
      if (attribute === 4) return int('unsigned', this.o.clockStatus);
      return { error: ACCESS.objectUnavailable };
    }
    if (obis === '0.0.96.1.0.255' && classId === 1 && attribute === 2) return { type: 'visible-string', text: this.o.serialNumber };
    if (obis === '0.0.42.0.0.255' && classId === 1 && attribute === 2) return octets(new Uint8Array(Buffer.from(this.o.logicalDeviceName, 'latin1')));
    const lp = this.profile.loadProfile;
    if (lp && obis === lp.obis && classId === 7) {
      if (attribute === 2) return this.buffer(access);
      if (attribute === 3) return { type: 'array', items: lp.columns.map((c) => struct(int('long-unsigned', c.classId), octets(obisBytes(c.obis)), int('integer', c.attribute), int('long-unsigned', c.dataIndex))) };
      if (attribute === 4) return int('double-long-unsigned', lp.capturePeriodS);
      return { error: ACCESS.objectUnavailable };
    }
    return { error: ACCESS.objectUndefined };
  }

  private exists(classId: number, obis: string): boolean {
    const reg = this.registers.get(obis);
    if (reg) return reg.classId === classId;
    return (obis === this.profile.clock.obis && classId === 8) || ((obis === '0.0.96.1.0.255' || obis === '0.0.42.0.0.255') && classId === 1) || (obis === this.profile.loadProfile?.obis && classId === 7);
  }

  private registerValue(reg: DlmsRegisterDef): Val {
    const snapshot = this.model.snapshot();
    this.tariffs.update(snapshot);
    const src = SOURCES[reg.obis]!;
    if (src.kind === 'energy') {
      // mWh → Wh × 10^-scaler, completed units only; then the register's wrap (rollover + 1 → 0).
      const value = src.mwh(snapshot, this.tariffs) / 10n ** BigInt(3 + reg.scaler);
      return int('double-long-unsigned', reg.rollover === null ? value : value % (BigInt(reg.rollover) + 1n));
    }
    return int(src.type, Math.round(src.of(snapshot) / 10 ** reg.scaler));
  }

  /** Energy imported at each instant of `times` (descending), mWh, integrating the model's power backwards. */
  private energyAt(times: number[], snapshot: MeterSnapshot): bigint[] {
    const out: bigint[] = [];
    let t = snapshot.timeMs;
    let mwms = 0n; // mW·ms between t and now
    for (const target of times) {
      while (t > target) {
        const slotStart = Math.max(target, Math.ceil(t / 60_000) * 60_000 - 60_000);
        mwms += BigInt(this.model.powerMilliWatts(slotStart)) * BigInt(t - slotStart);
        t = slotStart;
      }
      const e = snapshot.energyImportMilliWh - mwms / 3_600_000n;
      out.push(e < 0n ? 0n : e);
    }
    return out;
  }

  /** Profile generic buffer, whole or by range (selector 1) or entry (selector 2) (IEC 62056-6-2 §4.3.6). */
  private buffer(access?: { selector: number; parameters: Val }): Val | { error: number } {
    const lp = this.profile.loadProfile!;
    const period = lp.capturePeriodS * 1000;
    const snapshot = this.model.snapshot();
    const now = this.o.now() + this.o.clockOffsetMs;
    const newest = Math.floor(now / period) * period;
    const count = Math.floor((this.o.loadProfileDays * 86_400_000) / period);
    let times = Array.from({ length: count }, (_, k) => newest - k * period); // newest first
    let columns = lp.columns.map((_, i) => i);
    if (access?.selector === 1) {
      const p = access.parameters;
      if (p.type !== 'structure' || p.items.length !== 4) return { error: ACCESS.typeUnmatched };
      const [restricting, from, to, selected] = p.items;
      const ln = restricting?.type === 'structure' ? restricting.items[1] : undefined;
      if (ln?.type !== 'octet-string' || ln.bytes.join('.') !== lp.columns[0]!.obis) return { error: ACCESS.otherReason }; // only the clock column restricts
      if (from?.type !== 'octet-string' || to?.type !== 'octet-string') return { error: ACCESS.typeUnmatched };
      let lo: number;
      let hi: number;
      try {
        [lo, hi] = [dateTimeMs(from.bytes), dateTimeMs(to.bytes)];
      } catch {
        return { error: ACCESS.typeUnmatched };
      }
      times = times.filter((t) => t >= lo && t <= hi);
      if (selected?.type === 'array' && selected.items.length > 0) {
        columns = selected.items.map((s) => lp.columns.findIndex((c) => s.type === 'structure' && s.items[1]?.type === 'octet-string' && s.items[1].bytes.join('.') === c.obis));
        if (columns.some((c) => c < 0)) return { error: ACCESS.objectUnavailable };
      }
    } else if (access?.selector === 2) {
      const p = access.parameters;
      const n = (i: number) => (p.type === 'structure' && p.items[i] && 'value' in p.items[i]! ? Number((p.items[i] as { value: bigint }).value) : NaN);
      const [first, last] = [n(0), n(1)];
      if (!Number.isInteger(first) || !Number.isInteger(last)) return { error: ACCESS.typeUnmatched };
      const oldestFirst = times.slice().reverse().slice(Math.max(0, first - 1), last === 0 ? undefined : last);
      times = oldestFirst.reverse();
    } else if (access) return { error: ACCESS.otherReason };
    const energy = this.energyAt(times, snapshot);
    const rows = times.map((t, k) => {
      const cells = lp.columns.map((c): Val => {
        if (c.classId === 8) return octets(dateTime(t));
        if (c.obis === '1.0.1.8.0.255') return int('double-long-unsigned', energy[k]! / 1000n);
        if (c.obis === '1.0.2.8.0.255') return int('double-long-unsigned', 0n); // this household never exports
        return { type: 'null-data' };
      });
      return struct(...columns.map((i) => cells[i]!));
    });
    return { type: 'array', items: rows.reverse() }; // oldest entry first, as a buffer is stored
  }
}
