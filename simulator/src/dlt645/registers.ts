// What the virtual DL/T 645 meter shows for each data identifier, from the shared MeterModel.
// Formats (digits, decimals, sign) come from the hardware profile; this file only says where each value
// comes from and in which unit. Energy is exact: the model integrates in mWh, the register holds 0.01 kWh.
import type { Dlt645IdentifierDef, Dlt645Profile } from '@meterseal/hardware';
import { SimulatorError } from '../errors.js';
import type { MeterSnapshot } from '../meter-model.js';

type Source =
  | { unit: string; energy: (s: MeterSnapshot, t: TariffRegisters) => bigint } // mWh
  | { unit: string; instant: (s: MeterSnapshot) => number }; // in `unit`

const tariffEnergy = (n: 1 | 2 | 3 | 4) => (_s: MeterSnapshot, t: TariffRegisters): bigint => t.milliWh(n);

// Keyed by DI (DL/T 645-2007 Appendix A).
const SOURCES: Record<string, Source> = {
  // Combined active energy with the State Grid default combination word 05H: forward + reverse.
  '00000000': { unit: 'kWh', energy: (s) => s.energyImportMilliWh + s.energyExportMilliWh },
  '00010000': { unit: 'kWh', energy: (s) => s.energyImportMilliWh },
  '00010100': { unit: 'kWh', energy: tariffEnergy(1) },
  '00010200': { unit: 'kWh', energy: tariffEnergy(2) },
  '00010300': { unit: 'kWh', energy: tariffEnergy(3) },
  '00010400': { unit: 'kWh', energy: tariffEnergy(4) },
  '00020000': { unit: 'kWh', energy: (s) => s.energyExportMilliWh },
  '02010100': { unit: 'V', instant: (s) => s.voltageV },
  '02020100': { unit: 'A', instant: (s) => s.currentA },
  '02030000': { unit: 'kW', instant: (s) => s.activePowerW / 1000 },
  '02060000': { unit: '1', instant: (s) => s.powerFactor },
  '02800002': { unit: 'Hz', instant: (s) => s.frequencyHz },
};

/**
 * Time-of-use tariff of a UTC instant, an illustrative State Grid-style day: 1 sharp 19-21 h, 2 peak 08-11 h,
 * 17-19 h and 21-23 h, 4 valley 23-07 h, 3 flat otherwise. Real schedules are set per province.
 */
export function tariffAt(timeMs: number): 1 | 2 | 3 | 4 {
  const h = Math.floor((((timeMs / 3_600_000) % 24) + 24) % 24);
  if (h >= 19 && h < 21) return 1;
  if ((h >= 8 && h < 11) || (h >= 17 && h < 19) || (h >= 21 && h < 23)) return 2;
  if (h >= 23 || h < 7) return 4;
  return 3;
}

/**
 * The four tariff registers. Energy the model adds between two looks is booked to the tariff of the later
 * look (a meter books each pulse at its own instant; reads minutes apart make the difference negligible), so
 * the tariffs always sum exactly to the total. Energy present at start is booked to flat (3).
 */
export class TariffRegisters {
  private readonly booked: [bigint, bigint, bigint, bigint];
  private total: bigint;
  constructor(initialMilliWh: bigint) {
    this.booked = [0n, 0n, initialMilliWh, 0n];
    this.total = initialMilliWh;
  }

  update(snapshot: MeterSnapshot): void {
    const delta = snapshot.energyImportMilliWh - this.total;
    if (delta <= 0n) return;
    const i = tariffAt(snapshot.timeMs) - 1;
    this.booked[i] = this.booked[i]! + delta;
    this.total = snapshot.energyImportMilliWh;
  }

  milliWh(tariff: 1 | 2 | 3 | 4): bigint {
    return this.booked[tariff - 1]!;
  }
}

/** The register value as an integer count of the format's last digit, e.g. 12345.67 kWh → 1234567n. */
export function registerValue(def: Dlt645IdentifierDef, snapshot: MeterSnapshot, tariffs: TariffRegisters): bigint | undefined {
  const src = SOURCES[def.di];
  if (!src) return undefined;
  if ('energy' in src) {
    // mWh → kWh × 10^decimals, rounded down: a register shows completed units only.
    const perStep = 10n ** BigInt(6 - def.decimals);
    return src.energy(snapshot, tariffs) / perStep;
  }
  return BigInt(Math.round(src.instant(snapshot) * 10 ** def.decimals));
}

/** Refuses a profile whose identifiers this simulator would serve in another unit. */
export function checkProfileUnits(profile: Dlt645Profile): void {
  for (const def of profile.identifiers) {
    const src = SOURCES[def.di];
    if (src && src.unit !== def.sourceUnit) {
      throw new SimulatorError('PROFILE', `profile ${profile.id}: DI ${def.di} is in ${def.sourceUnit}; the simulator serves it in ${src.unit}`);
    }
    if (src && 'energy' in src && def.decimals > 6) throw new SimulatorError('PROFILE', `profile ${profile.id}: DI ${def.di} finer than 1 mWh`);
  }
}
