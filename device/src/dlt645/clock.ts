// The meter's clock over DL/T 645-2007: 04000101 date and weekday (YYMMDDWW), 04000102 time (hhmmss), both
// local time (Appendix A, table A.5). State Grid meters keep Beijing time, UTC+08:00.
import { bcdDigits } from './bcd.js';
import { Dlt645Error } from './errors.js';

export const DI_DATE = '04000101';
export const DI_TIME = '04000102';
/** China Standard Time: the offset State Grid meters keep. */
export const STATE_GRID_UTC_OFFSET_MIN = 480;

export interface MeterDate {
  year: number;
  month: number;
  day: number;
}

/** Parses the 4 value bytes of 04000101 (sent WW first); throws Dlt645Error LENGTH/BCD on anything else. */
export function parseMeterDate(value: Uint8Array): MeterDate {
  if (value.length !== 4) throw new Dlt645Error('LENGTH', `date (04000101) has ${value.length} bytes, not 4`);
  const d = bcdDigits(value); // "YYMMDDWW"
  const year = 2000 + Number(d.slice(0, 2));
  const month = Number(d.slice(2, 4));
  const day = Number(d.slice(4, 6));
  const weekday = Number(d.slice(6, 8));
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || day < 1 || probe.getUTCDate() !== day || weekday > 6) {
    throw new Dlt645Error('BCD', `date (04000101) ${d} is not a calendar date YYMMDDWW`);
  }
  return { year, month, day };
}

/** Parses the 3 value bytes of 04000102 (sent ss first) into seconds of the day. */
export function parseMeterTime(value: Uint8Array): number {
  if (value.length !== 3) throw new Dlt645Error('LENGTH', `time (04000102) has ${value.length} bytes, not 3`);
  const t = bcdDigits(value); // "hhmmss"
  const [h, m, s] = [Number(t.slice(0, 2)), Number(t.slice(2, 4)), Number(t.slice(4, 6))];
  if (h > 23 || m > 59 || s > 59) throw new Dlt645Error('BCD', `time (04000102) ${t} is not hhmmss`);
  return h * 3600 + m * 60 + s;
}

/** The meter's local date and time as UTC epoch ms, given the meter's UTC offset in minutes. */
export function meterClockToUtc(date: MeterDate, secondsOfDay: number, utcOffsetMin: number): bigint {
  const local = Date.UTC(date.year, date.month - 1, date.day) + secondsOfDay * 1000;
  return BigInt(local - utcOffsetMin * 60_000);
}

/**
 * DL/T 645-2007 broadcast time synchronisation (C = 08H, L = 06H, sent to 999999999999, never answered): the
 * data field is the meter's local time ss mm hh DD MM YY, seconds first, each byte BCD (before the 33H offset).
 */
export function broadcastTimeData(utcMs: bigint, utcOffsetMin: number): Uint8Array {
  const d = new Date(Number(utcMs) + utcOffsetMin * 60_000); // the meter's local time, read through UTC fields
  const year = d.getUTCFullYear();
  if (year < 2000 || year > 2099) throw new Dlt645Error('BCD', `year ${year} does not fit the broadcast's two BCD digits`);
  const fields = [d.getUTCSeconds(), d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth() + 1, year - 2000];
  return Uint8Array.from(fields, (v) => ((Math.floor(v / 10) << 4) | (v % 10)));
}
