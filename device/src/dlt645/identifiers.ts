// The DL/T 645-2007 data identifiers a single-phase meter reading needs (DL/T 645-2007 Appendix A: table A.1
// energy, table A.3 variables), each with the OBIS code MeterSeal files it under (IEC 62056-6-1) and the exact
// integer representation of its value: value = BCD integer × 10^(sourceScaler − decimals − scaler), physical value
// = value × 10^scaler unit. Energy is an integer count of Wh (0.01 kWh = 10 Wh), as for Modbus meters.
//
// OBIS choices. Forward (import) active energy is +A: 1.0.1.8.0.255, tariffs in group E (1.0.1.8.1.255 …).
// Reverse (export) active energy is −A: 1.0.2.8.0.255. "Combined active energy" (00000000) is whatever the
// meter's active-combination word (DI 04000601) makes it; State Grid meters ship with 05H = forward + reverse,
// i.e. |+A| + |−A|, which OBIS names 1.0.15.8.0.255 (C = 15, absolute active energy). We do not file it under
// +A because on a meter that has ever exported it is not +A, and a reading must not carry two values for one code.
import type { TargetUnit } from '@meterseal/hardware';
import { decodeBcd } from './bcd.js';
import { Dlt645Error } from './errors.js';

export interface Dlt645Identifier {
  /** DI3 DI2 DI1 DI0 as 8 upper-case hex digits. */
  di: string;
  name: string;
  obis: string;
  /** The standard's data format, e.g. "XXXXXX.XX": digits and the decimal point. */
  format: string;
  /** Value bytes on the wire (digits / 2). */
  length: number;
  /** Digits after the decimal point. */
  decimals: number;
  /** Top bit of the most significant byte is the sign (Appendix A notes: 最高位表示方向/符号). */
  signed: boolean;
  /** The unit the meter reports in, e.g. kWh. */
  sourceUnit: string;
  /** value in `unit` = value in sourceUnit × 10^sourceScaler (kWh → Wh: 3). */
  sourceScaler: number;
  unit: TargetUnit;
  /** Target integer representation: physical value in `unit` = value × 10^scaler; at most sourceScaler − decimals. */
  scaler: number;
}

type Row = [di: string, name: string, obis: string, format: string, signed: boolean, sourceUnit: string, sourceScaler: number, unit: TargetUnit, scaler: number];

// sourceScaler converts the meter's unit to the target unit (kWh → Wh: 3, kW → W: 3).
const ROWS: Row[] = [
  ['00000000', 'active_energy_combined', '1.0.15.8.0.255', 'XXXXXX.XX', true, 'kWh', 3, 'Wh', 0], // A.1; signed: the combination may subtract
  ['00010000', 'active_energy_import', '1.0.1.8.0.255', 'XXXXXX.XX', false, 'kWh', 3, 'Wh', 0], // A.1 forward active, total
  ['00010100', 'active_energy_import_t1', '1.0.1.8.1.255', 'XXXXXX.XX', false, 'kWh', 3, 'Wh', 0], // tariff 1 (sharp, 尖)
  ['00010200', 'active_energy_import_t2', '1.0.1.8.2.255', 'XXXXXX.XX', false, 'kWh', 3, 'Wh', 0], // tariff 2 (peak, 峰)
  ['00010300', 'active_energy_import_t3', '1.0.1.8.3.255', 'XXXXXX.XX', false, 'kWh', 3, 'Wh', 0], // tariff 3 (flat, 平)
  ['00010400', 'active_energy_import_t4', '1.0.1.8.4.255', 'XXXXXX.XX', false, 'kWh', 3, 'Wh', 0], // tariff 4 (valley, 谷)
  ['00020000', 'active_energy_export', '1.0.2.8.0.255', 'XXXXXX.XX', false, 'kWh', 3, 'Wh', 0], // A.1 reverse active, total
  ['02010100', 'voltage', '1.0.32.7.0.255', 'XXX.X', false, 'V', 0, 'V', -1], // A.3 phase A voltage
  ['02020100', 'current', '1.0.31.7.0.255', 'XXX.XXX', true, 'A', 0, 'A', -3], // A.3 phase A current, sign = direction
  ['02030000', 'active_power', '1.0.16.7.0.255', 'XX.XXXX', true, 'kW', 3, 'W', -1], // A.3 total active power, signed
  ['02060000', 'power_factor', '1.0.13.7.0.255', 'X.XXX', true, '1', 0, '1', -3], // A.3 total power factor, signed
  ['02800002', 'frequency', '1.0.14.7.0.255', 'XX.XX', false, 'Hz', 0, 'Hz', -2], // A.3 grid frequency
];

/** Digits, and digits after the point, of a format such as "XXXXXX.XX". */
export function parseFormat(format: string): { digits: number; decimals: number } {
  const m = /^(X+)(?:\.(X+))?$/.exec(format);
  if (!m || (m[1]!.length + (m[2]?.length ?? 0)) % 2 !== 0) throw new Dlt645Error('PROTOCOL', `format ${JSON.stringify(format)} is not an even number of X digits`);
  return { digits: m[1]!.length + (m[2]?.length ?? 0), decimals: m[2]?.length ?? 0 };
}

export const DLT645_IDENTIFIERS: readonly Dlt645Identifier[] = ROWS.map(([di, name, obis, format, signed, sourceUnit, sourceScaler, unit, scaler]) => {
  const { digits, decimals } = parseFormat(format);
  return { di, name, obis, format, length: digits / 2, decimals, signed, sourceUnit, sourceScaler, unit, scaler };
});

const BY_DI = new Map(DLT645_IDENTIFIERS.map((d) => [d.di, d]));

/** The table entry for a DI, or undefined. */
export function findIdentifier(di: string): Dlt645Identifier | undefined {
  return BY_DI.get(di.toUpperCase());
}

/** What a single-phase meter is read for by default: the table in order. */
export const SINGLE_PHASE_DIS: readonly string[] = DLT645_IDENTIFIERS.map((d) => d.di);

export interface DecodedDlt645Value {
  value: bigint;
  scaler: number;
  unit: TargetUnit;
}

/** Decodes the value bytes of a read-data answer with the identifier's format; exact, no floats. */
export function decodeIdentifierValue(def: Dlt645Identifier, raw: Uint8Array): DecodedDlt645Value {
  if (raw.length !== def.length) throw new Dlt645Error('LENGTH', `DI ${def.di} (${def.name}): ${raw.length} value bytes, format ${def.format} has ${def.length}`);
  const shift = def.sourceScaler - def.decimals - def.scaler; // ≥ 0: an exact multiplication (0.01 kWh → Wh: 1)
  if (shift < 0) throw new Dlt645Error('PROTOCOL', `DI ${def.di}: scaler ${def.scaler} would drop digits of ${def.format} ${def.sourceUnit}`);
  return { value: decodeBcd(raw, { signed: def.signed }) * 10n ** BigInt(shift), scaler: def.scaler, unit: def.unit };
}
