// Physical units as DLMS/COSEM unit enumeration codes (IEC 62056-6-2, class 3 "Register", scaler_unit),
// so a value read over DLMS and one read over Modbus share one representation.
import { ProtocolError } from './errors.js';

export const UNIT_CODES = {
  W: 27, // active power
  VA: 28, // apparent power
  var: 29, // reactive power
  Wh: 30, // active energy
  VAh: 31, // apparent energy
  varh: 32, // reactive energy
  A: 33, // current
  V: 35, // voltage
  Hz: 44, // frequency
  '1': 255, // count / no unit
} as const;

export type Unit = keyof typeof UNIT_CODES;

export function unitCode(unit: string): number {
  const code = (UNIT_CODES as Record<string, number>)[unit];
  if (code === undefined) throw new ProtocolError('BAD_UNIT', `unknown unit "${unit}"`);
  return code;
}

export function unitName(code: number): Unit {
  for (const [name, c] of Object.entries(UNIT_CODES)) if (c === code) return name as Unit;
  throw new ProtocolError('BAD_UNIT', `unknown unit code ${code}`);
}
