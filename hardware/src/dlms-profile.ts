// The DLMS/COSEM profile kind: which COSEM objects a meter is read through (IEC 62056-6-2 interface classes,
// IEC 62056-6-1 OBIS codes), with the scaler_unit each register is expected to report and the value at
// which a cumulative register rolls over. A Modbus profile maps registers, a DL/T 645 profile data
// identifiers; a DLMS meter is asked for (class id, logical name, attribute).
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { HardwareError } from './errors.js';
import { QUANTITIES, QUANTITY_UNITS, TARGET_UNITS, formatPath, obis, serialLineSchema } from './schema.js';

const PROFILE_DIR = new URL('../profiles/', import.meta.url);
const PROFILE_ID = /^dlms-[a-z0-9][a-z0-9-]{0,58}$/;
const MAX_PROFILE_BYTES = 256 * 1024;

// IEC 62056-6-2 §4.3.2 scaler_unit: scaler Integer8 (value × 10^scaler).
const cosemScaler = z.int().min(-128).max(127);
const classId = z.int().min(1).max(0xffff);
const attribute = z.int().min(1).max(127); // attribute index, Integer8 > 0 (IEC 62056-5-3 §8)

export const dlmsRegisterDefSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be snake_case, 1..64 characters'),
  quantity: z.enum(QUANTITIES),
  description: z.string().max(200).optional(),
  obis,
  /** 3 Register (IEC 62056-6-2 §4.3.2), 4 Extended register, 1 Data. */
  classId: z.union([z.literal(1), z.literal(3), z.literal(4)]),
  /** The value attribute: 2 for Data, Register and Extended register. */
  attribute: attribute.default(2),
  /** The scaler_unit (attribute 3) the meter is expected to report; a Data object has none, so this is it. */
  scaler: cosemScaler,
  unit: z.enum(TARGET_UNITS),
  /** Cumulative registers: the largest value (unscaled integer) before the register wraps to 0; null for
   *  instantaneous values. A decimal string, so 64-bit limits survive JSON. */
  rollover: z.string().regex(/^[1-9][0-9]{0,19}$/, 'must be a positive decimal integer').nullable(),
  /** Time-of-use registers: the tariff number (OBIS value group E, 1..4). */
  tariff: z.int().min(1).max(63).optional(),
});

export const cosemObjectRefSchema = z.strictObject({ obis, classId, attribute: attribute.default(2), description: z.string().max(200).optional() });

export const captureColumnSchema = z.strictObject({ obis, classId, attribute, dataIndex: z.int().min(0).max(0xffff).default(0) });

export const dlmsProfileSchema = z
  .strictObject({
    id: z.string().regex(PROFILE_ID, 'must start with "dlms-" and be lowercase letters, digits and dashes'),
    protocol: z.literal('dlms'),
    manufacturer: z.string().min(1).max(100),
    model: z.string().min(1).max(100),
    description: z.string().max(1000).optional(),
    source: z.string().min(10).max(2000),
    notes: z.array(z.string().max(1000)).max(50).default([]),
    serial: serialLineSchema,
    registers: z.array(dlmsRegisterDefSchema).min(1).max(256),
    /** Clock (class 8) attribute 2, time. */
    clock: cosemObjectRefSchema,
    /** Where the meter's identity is read, first that answers wins (device id 1, logical device name). */
    identity: z.array(cosemObjectRefSchema).min(1).max(4),
    /** Profile generic (class 7) used for backfill: its buffer (attribute 2), period and columns. */
    loadProfile: z
      .strictObject({ obis, classId: z.literal(7), attribute: z.literal(2).default(2), capturePeriodS: z.int().min(1).max(86_400), columns: z.array(captureColumnSchema).min(2).max(64) })
      .optional(),
  })
  .superRefine((p, ctx) => {
    const seen = { name: new Set<string>(), obis: new Set<string>() };
    p.registers.forEach((r, i) => {
      for (const key of ['name', 'obis'] as const) {
        if (seen[key].has(r[key])) ctx.addIssue({ code: 'custom', path: ['registers', i, key], message: `duplicate ${key} "${r[key]}"` });
        seen[key].add(r[key]);
      }
      if (QUANTITY_UNITS[r.quantity] !== r.unit) ctx.addIssue({ code: 'custom', path: ['registers', i, 'unit'], message: `${r.quantity} is reported in ${QUANTITY_UNITS[r.quantity]}, not ${r.unit}` });
      const cumulative = r.quantity.endsWith('_energy');
      if (cumulative !== (r.rollover !== null)) ctx.addIssue({ code: 'custom', path: ['registers', i, 'rollover'], message: cumulative ? 'an energy register needs its rollover value' : 'only cumulative registers roll over (null)' });
    });
    if (p.clock.classId !== 8) ctx.addIssue({ code: 'custom', path: ['clock', 'classId'], message: 'the clock is class 8 (IEC 62056-6-2 §4.5.1)' });
    const first = p.loadProfile?.columns[0];
    if (first && (first.classId !== 8 || first.attribute !== 2)) ctx.addIssue({ code: 'custom', path: ['loadProfile', 'columns', 0], message: 'the first column of a load profile is the clock time (class 8, attribute 2)' });
  });

export type DlmsRegisterDef = z.output<typeof dlmsRegisterDefSchema>;
export type DlmsProfile = z.output<typeof dlmsProfileSchema>;

/** True when parsed JSON declares itself a DLMS/COSEM profile. */
export function isDlmsProfileData(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { protocol?: unknown }).protocol === 'dlms';
}

/** Validates untrusted DLMS profile data; HardwareError PROFILE_INVALID naming the field(s). */
export function parseDlmsProfile(data: unknown, origin = 'profile'): DlmsProfile {
  const result = dlmsProfileSchema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  const more = result.error.issues.length > 5 ? ` (+${result.error.issues.length - 5} more)` : '';
  throw new HardwareError('PROFILE_INVALID', `${origin}: ${issues.join('; ')}${more}`, { cause: result.error });
}

/** Reads and validates hardware/profiles/<id>.json, a DLMS/COSEM object list (ids start with "dlms-"). */
export function loadDlmsProfile(id: string): DlmsProfile {
  if (typeof id !== 'string' || !PROFILE_ID.test(id)) {
    throw new HardwareError('PROFILE_ID_INVALID', `DLMS profile id ${JSON.stringify(String(id).slice(0, 64))} is not dlms-[a-z0-9-]`);
  }
  const url = new URL(`${id}.json`, PROFILE_DIR); // the id's charset keeps this inside profiles/
  let text: string;
  try {
    const size = statSync(url).size;
    if (size > MAX_PROFILE_BYTES) throw new HardwareError('PROFILE_UNREADABLE', `profile ${id}: ${size} bytes exceeds ${MAX_PROFILE_BYTES}`);
    text = readFileSync(url, 'utf8');
  } catch (err) {
    if (err instanceof HardwareError) throw err;
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'PROFILE_NOT_FOUND' : 'PROFILE_UNREADABLE';
    throw new HardwareError(code, `profile ${id}: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new HardwareError('PROFILE_UNREADABLE', `profile ${id}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isDlmsProfileData(data)) throw new HardwareError('PROFILE_INVALID', `profile ${id}: protocol: not a DLMS profile (expected "protocol": "dlms")`);
  const profile = parseDlmsProfile(data, `profile ${id}`);
  if (profile.id !== id) throw new HardwareError('PROFILE_INVALID', `profile ${id}: id: "${profile.id}" does not match the file name`);
  return profile;
}
