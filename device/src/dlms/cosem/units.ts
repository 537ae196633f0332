// Physical units of scaler_unit (IEC 62056-6-2 §4.3.2, Register, table "Enumerated values for physical
// units"; unit 255 = count, no unit). Codes not listed here are reported by number only.
export const UNITS: Readonly<Record<number, string>> = {
  1: 'a', 2: 'mo', 3: 'wk', 4: 'd', 5: 'h', 6: 'min', 7: 's', 8: '°', 9: '°C', 10: 'currency',
  11: 'm', 12: 'm/s', 13: 'm³', 14: 'm³ (corrected)', 15: 'm³/h', 16: 'm³/h (corrected)', 17: 'm³/d', 18: 'm³/d (corrected)', 19: 'l', 20: 'kg',
  21: 'N', 22: 'Nm', 23: 'Pa', 24: 'bar', 25: 'J', 26: 'J/h', 27: 'W', 28: 'VA', 29: 'var', 30: 'Wh',
  31: 'VAh', 32: 'varh', 33: 'A', 34: 'C', 35: 'V', 36: 'V/m', 37: 'F', 38: 'Ω', 39: 'Ωm²/m', 40: 'Wb',
  41: 'T', 42: 'A/m', 43: 'H', 44: 'Hz', 45: '1/(Wh)', 46: '1/(varh)', 47: '1/(VAh)', 48: 'V²h', 49: 'A²h',
  50: 'kg/s', 51: 'S', 52: 'K', 53: '1/(V²h)', 54: '1/(A²h)', 55: '1/m³', 56: '%', 57: 'Ah',
  254: 'other', 255: 'count',
};

/** "12345.678" from value 12345678 and scaler -3: the exact decimal value × 10^scaler, no float rounding. */
export function scaledDecimal(value: bigint, scaler: number): string {
  const neg = value < 0n;
  let digits = (neg ? -value : value).toString();
  if (scaler >= 0) digits = value === 0n ? '0' : digits + '0'.repeat(scaler);
  else {
    digits = digits.padStart(-scaler + 1, '0');
    digits = `${digits.slice(0, scaler)}.${digits.slice(scaler)}`;
  }
  return (neg ? '-' : '') + digits;
}
