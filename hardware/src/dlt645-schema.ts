// The DL/T 645-2007 profile kind: which data identifiers a meter answers and how each value is represented.
// A Modbus profile maps register addresses; a DL/T 645 meter is asked by data identifier (DI, DL/T 645-2007
// chapter 6 and Appendix A), and every value is packed BCD with a fixed number of digits and decimals.
import { z } from 'zod';
import { HardwareError } from './errors.js';
import { QUANTITIES, TARGET_UNITS, formatPath, obis, scaler, serialLineSchema } from './schema.js';
import { dlt645EventSchema, isEnergyObis, loadProfileSchema, maxPowerW, maxRatePerHour, rollover } from './billing-schema.js';

const FORMAT = /^(X{1,16})(?:\.(X{1,16}))?$/;
const ENERGY = new Set<string>(['active_energy', 'reactive_energy', 'apparent_energy']);

export const dlt645IdentifierDefSchema = z
  .strictObject({
    /** Stable identifier, unique within the profile (snake_case). */
    name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be snake_case, 1..64 characters'),
    quantity: z.enum(QUANTITIES),
    /** Free text: the standard's name for the item. */
    description: z.string().max(200).optional(),
    /** DI3 DI2 DI1 DI0, DI3 first, 8 hex digits (DL/T 645-2007 Appendix A), e.g. "00010000". */
    di: z
      .string()
      .regex(/^[0-9A-Fa-f]{8}$/, 'must be 8 hex digits, DI3 first')
      .transform((s) => s.toUpperCase()),
    obis,
    /** The standard's data format: X per decimal digit, an optional point, e.g. "XXXXXX.XX". */
    format: z
      .string()
      .regex(FORMAT, 'must be X digits with an optional decimal point, e.g. "XXXXXX.XX"')
      .refine((f) => f.replace('.', '').length % 2 === 0, 'must have an even number of digits (two per BCD byte)'),
    /** The top bit of the most significant byte is the sign (Appendix A notes). */
    signed: z.boolean().default(false),
    /** The unit the meter reports in, e.g. "kWh" (documentation; the arithmetic uses sourceScaler). */
    sourceUnit: z.string().min(1).max(16),
    /** value in `unit` = value in sourceUnit × 10^sourceScaler (kWh → Wh: 3). */
    sourceScaler: scaler,
    unit: z.enum(TARGET_UNITS),
    /** Target integer representation: value in `unit` = integer × 10^scaler. */
    scaler,
    /** Energy: the value (in `unit`) at which the register wraps to 0; at most what the format can show + 1 step. */
    rollover: rollover.optional(),
    /** Energy: the largest plausible increase per hour (in `unit`), overriding the profile's maxPowerW. */
    maxRatePerHour: maxRatePerHour.optional(),
  })
  .transform((d) => {
    const [whole = '', fraction = ''] = d.format.split('.');
    const decimals = fraction.length;
    return { ...d, length: (whole.length + decimals) / 2, decimals };
  })
  .superRefine((d, ctx) => {
    // BCD is exact; so must the conversion be: integer = BCD integer × 10^(sourceScaler − decimals − scaler) ≥ 1.
    if (d.scaler > d.sourceScaler - d.decimals) {
      ctx.addIssue({ code: 'custom', path: ['scaler'], message: `must be at most ${d.sourceScaler - d.decimals}: ${d.format} ${d.sourceUnit} would lose digits` });
    }
    // Energy leaves the agent as an integer count of Wh (varh, VAh), as for Modbus profiles.
    if (ENERGY.has(d.quantity) && d.scaler !== 0) ctx.addIssue({ code: 'custom', path: ['scaler'], message: `${d.quantity} must have scaler 0 (integer ${d.unit})` });
    // IEC 62056-6-1 §7.5: OBIS D = 8 (totals and the time-of-use tariffs E = 1..4) is energy, and only energy rolls over.
    if (isEnergyObis(d.obis) !== ENERGY.has(d.quantity)) ctx.addIssue({ code: 'custom', path: ['obis'], message: `${d.obis} and quantity ${d.quantity} disagree (OBIS D = 8 is energy)` });
    for (const key of ['rollover', 'maxRatePerHour'] as const) {
      if (d[key] !== undefined && !ENERGY.has(d.quantity)) ctx.addIssue({ code: 'custom', path: [key], message: `only energy registers have a ${key}` });
    }
    // A BCD register of n whole digits shows at most 10^n − 1 source units: it cannot count past 10^n.
    const shown = 10 ** (d.length * 2 - d.decimals) * 10 ** d.sourceScaler;
    if (d.rollover !== undefined && d.rollover > shown) {
      ctx.addIssue({ code: 'custom', path: ['rollover'], message: `${d.format} ${d.sourceUnit} wraps by ${shown} ${d.unit} at the latest` });
    }
  });

export const dlt645ProfileSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be lowercase letters, digits and dashes'),
    /** Tells the profile kinds apart; Modbus profiles have no such field. */
    protocol: z.literal('dlt645'),
    manufacturer: z.string().min(1).max(100),
    model: z.string().min(1).max(100),
    description: z.string().max(1000).optional(),
    source: z.string().min(10).max(2000),
    notes: z.array(z.string().max(1000)).max(50).default([]),
    serial: serialLineSchema,
    identifiers: z.array(dlt645IdentifierDefSchema).min(1).max(256),
    /** Imax × highest rated voltage × phases, W: bounds plausible energy increases (billing-schema.ts). */
    maxPowerW: maxPowerW.optional(),
    /** Event counters/records (DL/T 645-2007 Appendix A, 03xxxxxx), cited. */
    events: z.array(dlt645EventSchema).max(32).default([]),
    /** Load-profile captures, where confirmed (cited). */
    loadProfiles: z.array(loadProfileSchema).max(8).default([]),
  })
  .superRefine((p, ctx) => {
    const seen = { name: new Set<string>(), di: new Set<string>(), obis: new Set<string>() };
    p.identifiers.forEach((d, i) => {
      for (const key of ['name', 'di', 'obis'] as const) {
        // A reading carries each OBIS code once; a DI asked twice would be a wasted request.
        if (seen[key].has(d[key])) ctx.addIssue({ code: 'custom', path: ['identifiers', i, key], message: `duplicate ${key} "${d[key]}"` });
        seen[key].add(d[key]);
      }
    });
  });

export type Dlt645IdentifierDef = z.output<typeof dlt645IdentifierDefSchema>;
export type Dlt645Profile = z.output<typeof dlt645ProfileSchema>;

/** True when parsed JSON declares itself a DL/T 645 profile. */
export function isDlt645ProfileData(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { protocol?: unknown }).protocol === 'dlt645';
}

/** Validates untrusted DL/T 645 profile data; throws HardwareError PROFILE_INVALID naming the field(s). */
export function parseDlt645Profile(data: unknown, origin = 'profile'): Dlt645Profile {
  const result = dlt645ProfileSchema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  const more = result.error.issues.length > 5 ? ` (+${result.error.issues.length - 5} more)` : '';
  throw new HardwareError('PROFILE_INVALID', `${origin}: ${issues.join('; ')}${more}`, { cause: result.error });
}
