// COSEM date-time (IEC 62056-6-2 §4.1.6.1 "Date and time formats"): 12 octets
//   year (2, 0xFFFF = not specified) | month (0xFD = DST end, 0xFE = DST begin) | day of month (0xFD = second
//   last, 0xFE = last day) | day of week (1 = Monday) | hour | minute | second | hundredths (0xFF each = not
//   specified) | deviation (Integer16, minutes, -720..720, 0x8000 = not specified) | clock_status (0xFF = n.s.)
// The deviation is that of local time to UTC: UTC = local time + deviation (Paris in winter: -60). Some
// companion specifications use the opposite sign; `deviationSign: 'inverted'` reads those.
import { DlmsError } from '../errors.js';

export interface CosemDateTime {
  year: number | null;
  month: number | null;
  day: number | null;
  dayOfWeek: number | null;
  hour: number | null;
  minute: number | null;
  second: number | null;
  hundredths: number | null;
  /** Minutes; null when not specified (0x8000). */
  deviation: number | null;
  /** clock_status octet; null when not specified (0xFF). */
  status: number | null;
}

// IEC 62056-6-2 §4.1.6.1 clock_status bits.
export const CLOCK_STATUS = {
  invalidValue: 0x01,
  doubtfulValue: 0x02,
  differentClockBase: 0x04,
  invalidClockStatus: 0x08,
  daylightSavingActive: 0x80,
} as const;

export type ClockStatusFlags = { -readonly [K in keyof typeof CLOCK_STATUS]: boolean };

export const DEVIATION_NOT_SPECIFIED = 0x8000;
export const DEVIATION_RANGE = 720;

export function clockStatusFlags(status: number): ClockStatusFlags {
  const out = {} as ClockStatusFlags;
  for (const [k, bit] of Object.entries(CLOCK_STATUS)) out[k as keyof ClockStatusFlags] = (status & bit) !== 0;
  return out;
}

const spec = (v: number, none: number): number | null => (v === none ? null : v);

/** Splits the 12 octets into fields; "not specified" becomes null. No range checks (see dateTimeToEpochMs). */
export function parseDateTime(b: Uint8Array): CosemDateTime {
  if (b.length !== 12) throw new DlmsError('LENGTH', `a date-time is 12 octets, not ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, 12);
  return {
    year: spec(v.getUint16(0), 0xffff),
    month: spec(b[2]!, 0xff),
    day: spec(b[3]!, 0xff),
    dayOfWeek: spec(b[4]!, 0xff),
    hour: spec(b[5]!, 0xff),
    minute: spec(b[6]!, 0xff),
    second: spec(b[7]!, 0xff),
    hundredths: spec(b[8]!, 0xff),
    deviation: v.getUint16(9) === DEVIATION_NOT_SPECIFIED ? null : v.getInt16(9),
    status: spec(b[11]!, 0xff),
  };
}

export function encodeDateTime(dt: CosemDateTime): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  const octet = (x: number | null, name: string) => {
    if (x === null) return 0xff;
    if (!Number.isInteger(x) || x < 0 || x > 0xfe) throw new DlmsError('VALUE', `date-time ${name} out of range: ${x}`);
    return x;
  };
  if (dt.year !== null && (!Number.isInteger(dt.year) || dt.year < 0 || dt.year > 0xfffe)) throw new DlmsError('VALUE', `date-time year out of range: ${dt.year}`);
  v.setUint16(0, dt.year ?? 0xffff);
  b[2] = octet(dt.month, 'month');
  b[3] = octet(dt.day, 'day');
  b[4] = octet(dt.dayOfWeek, 'day of week');
  b[5] = octet(dt.hour, 'hour');
  b[6] = octet(dt.minute, 'minute');
  b[7] = octet(dt.second, 'second');
  b[8] = octet(dt.hundredths, 'hundredths');
  if (dt.deviation === null) v.setUint16(9, DEVIATION_NOT_SPECIFIED);
  else if (Number.isInteger(dt.deviation) && Math.abs(dt.deviation) <= DEVIATION_RANGE) v.setInt16(9, dt.deviation);
  else throw new DlmsError('VALUE', `deviation out of range: ${dt.deviation}`);
  b[11] = octet(dt.status, 'clock status');
  return b;
}

export interface ToUtcOptions {
  /** 'dlms' (default): UTC = local + deviation. 'inverted': UTC = local - deviation. */
  deviationSign?: 'dlms' | 'inverted';
  /** Used when the deviation is not specified; without it such a time throws CLOCK. */
  defaultDeviation?: number;
}

/**
 * The UTC instant a fully specified date-time stands for, in epoch milliseconds. Throws CLOCK when a
 * date or time field is not specified or out of range, the day does not exist in its month, the deviation
 * is missing (and no default given) or out of range, or the clock status says the value is invalid.
 * Unspecified seconds and hundredths count as 0; the day of week is not checked.
 */
export function dateTimeToEpochMs(dt: CosemDateTime, options: ToUtcOptions = {}): number {
  const need = (x: number | null, name: string, min: number, max: number): number => {
    if (x === null) throw new DlmsError('CLOCK', `date-time ${name} not specified`);
    if (x < min || x > max) throw new DlmsError('CLOCK', `date-time ${name} out of range: ${x}`);
    return x;
  };
  if (dt.status !== null && (dt.status & CLOCK_STATUS.invalidValue) !== 0) throw new DlmsError('CLOCK', 'clock status: invalid value');
  const year = need(dt.year, 'year', 1, 9999);
  const month = need(dt.month, 'month', 1, 12);
  const day = need(dt.day, 'day', 1, 31);
  const hour = need(dt.hour, 'hour', 0, 23);
  const minute = need(dt.minute, 'minute', 0, 59);
  const second = need(dt.second ?? 0, 'second', 0, 59);
  const hundredths = need(dt.hundredths ?? 0, 'hundredths', 0, 99);
  const deviation = dt.deviation ?? options.defaultDeviation ?? null;
  if (deviation === null) throw new DlmsError('CLOCK', 'date-time deviation not specified: local time of an unknown zone');
  if (!Number.isInteger(deviation) || Math.abs(deviation) > DEVIATION_RANGE) throw new DlmsError('CLOCK', `deviation out of range: ${deviation}`);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, hundredths * 10);
  if (d.getUTCDate() !== day) throw new DlmsError('CLOCK', `no day ${day} in ${year}-${month}`);
  const sign = options.deviationSign === 'inverted' ? -1 : 1;
  return d.getTime() + sign * deviation * 60_000;
}

/**
 * The date-time of a UTC instant as a meter with `deviation` shows it (local = UTC - deviation, the DLMS
 * sign), with day of week and the given clock status (default 0: a good clock, no DST).
 */
export function dateTimeFromEpochMs(ms: number, options: { deviation?: number; status?: number | null } = {}): CosemDateTime {
  const deviation = options.deviation ?? 0;
  if (!Number.isInteger(deviation) || Math.abs(deviation) > DEVIATION_RANGE) throw new DlmsError('VALUE', `deviation out of range: ${deviation}`);
  if (!Number.isFinite(ms)) throw new DlmsError('VALUE', `not a time: ${ms}`);
  const d = new Date(ms - deviation * 60_000);
  const year = d.getUTCFullYear();
  if (year < 0 || year > 0xfffe) throw new DlmsError('VALUE', `year out of range: ${year}`);
  return {
    year,
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    dayOfWeek: ((d.getUTCDay() + 6) % 7) + 1, // Monday = 1 … Sunday = 7
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    hundredths: Math.floor(d.getUTCMilliseconds() / 10),
    deviation,
    status: options.status === undefined ? 0 : options.status,
  };
}
