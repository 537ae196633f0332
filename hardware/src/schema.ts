// The meter profile format: a register map as data, validated before anything trusts it.
import { z } from 'zod';
import { HardwareError } from './errors.js';
import { ENERGY_QUANTITY_NAMES, isEnergyObis, loadProfileSchema, maxPowerW, maxRatePerHour, modbusEventSchema, rollover } from './billing-schema.js';

/** Target units; the same names as @meterseal/protocol's Unit (DLMS/COSEM unit enumeration, IEC 62056-6-2). */
export const TARGET_UNITS = ['W', 'VA', 'var', 'Wh', 'VAh', 'varh', 'A', 'V', 'Hz', '1'] as const;
export type TargetUnit = (typeof TARGET_UNITS)[number];

export const QUANTITIES = [
  'voltage',
  'current',
  'active_power',
  'reactive_power',
  'apparent_power',
  'power_factor',
  'frequency',
  'active_energy',
  'reactive_energy',
  'apparent_energy',
  'transformer_ratio',
  // The meter's nameplate serial number: read to identify the meter (issue 4 item 6), never sent as a sample.
  'serial_number',
] as const;
export type Quantity = (typeof QUANTITIES)[number];

/**
 * The one target unit each quantity may be reported in, so a profile cannot label a voltage in amperes or an
 * energy in kWh. A transformer ratio (IEC 62056-6-1 OBIS 1.0.0.4.2 current, 1.0.0.4.3 voltage) is a plain number.
 */
export const QUANTITY_UNITS: Readonly<Record<Quantity, TargetUnit>> = {
  voltage: 'V',
  current: 'A',
  active_power: 'W',
  reactive_power: 'var',
  apparent_power: 'VA',
  power_factor: '1',
  frequency: 'Hz',
  active_energy: 'Wh',
  reactive_energy: 'varh',
  apparent_energy: 'VAh',
  transformer_ratio: '1',
  serial_number: '1',
};

const ENERGY_QUANTITIES: ReadonlySet<Quantity> = new Set(['active_energy', 'reactive_energy', 'apparent_energy']);

export const REGISTER_TYPES = ['float32', 'uint32', 'int32', 'uint16', 'int16'] as const;
export type RegisterType = (typeof REGISTER_TYPES)[number];

const OBIS_SHAPE = /^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){5}$/;
export const obis = z
  .string()
  .regex(OBIS_SHAPE, 'must be an OBIS code A.B.C.D.E.F')
  .refine((s) => s.split('.').every((g) => Number(g) <= 255), 'each OBIS group must be 0..255'); // IEC 62056-6-1 §4

// Addresses are PDU addresses 0..65535 (Modbus Application Protocol V1.1b3 §4.4); JSON may spell them "0x2000".
const address = z.union([
  z.int().min(0).max(0xffff),
  z
    .string()
    .regex(/^0x[0-9a-fA-F]{1,4}$/, 'must be an integer or a hex string like "0x2000"')
    .transform((s) => Number.parseInt(s.slice(2), 16)),
]);

export const scaler = z.int().min(-9).max(9);

/** The line settings a meter ships with (shared by every profile kind). */
export const serialLineSchema = z.strictObject({
  baudRate: z.int().min(300).max(921600),
  dataBits: z.union([z.literal(7), z.literal(8)]),
  parity: z.enum(['none', 'even', 'odd']),
  stopBits: z.union([z.literal(1), z.literal(2)]),
});

export const registerDefSchema = z.strictObject({
  /** Stable identifier, unique within the profile (snake_case). */
  name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be snake_case, 1..64 characters'),
  /** The physical quantity the register measures. */
  quantity: z.enum(QUANTITIES),
  /** Free text: the manual's name for the register. */
  description: z.string().max(200).optional(),
  obis,
  address,
  /** 3 = read holding registers, 4 = read input registers (Modbus Application Protocol V1.1b3 §6.3, §6.4). */
  functionCode: z.union([z.literal(3), z.literal(4)]),
  type: z.enum(REGISTER_TYPES),
  /** Order of the 16-bit words of a 32-bit value; bytes within a word are always big-endian (§4.2). */
  wordOrder: z.enum(['big', 'little']).default('big'),
  /** The unit the meter reports in, e.g. "kWh"; documentation, the arithmetic uses sourceScaler. */
  sourceUnit: z.string().min(1).max(16),
  /** value in `unit` = register value × 10^sourceScaler (kWh → Wh: 3). */
  sourceScaler: scaler,
  unit: z.enum(TARGET_UNITS),
  /** Target integer representation: value in `unit` = integer × 10^scaler. */
  scaler,
  /** Energy registers: the value (in `unit`) at which the register wraps back to 0, where the manual says. */
  rollover: rollover.optional(),
  /** Energy registers: the largest plausible increase per hour (in `unit`), overriding the profile's maxPowerW. */
  maxRatePerHour: maxRatePerHour.optional(),
});

export const meterProfileSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be lowercase letters, digits and dashes'),
    manufacturer: z.string().min(1).max(100),
    model: z.string().min(1).max(100),
    description: z.string().max(1000).optional(),
    /** Where the register map comes from: manual name, document number, version. */
    source: z.string().min(10).max(2000),
    notes: z.array(z.string().max(1000)).max(50).default([]),
    serial: serialLineSchema,
    /** Modbus over Serial Line V1.02 §2.2: individual addresses 1..247. */
    defaultUnitId: z.int().min(1).max(247),
    /** Some meters answer fewer than the protocol's 125 registers per read (§6.3). */
    maxRegistersPerRead: z.int().min(1).max(125).default(125),
    registers: z.array(registerDefSchema).min(1).max(256),
    /** Imax × highest rated voltage × phases, W: bounds plausible energy increases (billing-schema.ts). */
    maxPowerW: maxPowerW.optional(),
    /** The meter's event counters/records, where the model keeps them (cited to the manual). */
    events: z.array(modbusEventSchema).max(32).default([]),
    /** Load-profile captures, where the model has them (cited to the manual). */
    loadProfiles: z.array(loadProfileSchema).max(8).default([]),
  })
  .superRefine((p, ctx) => {
    const names = new Set<string>();
    const codes = new Set<string>();
    const spans: Array<{ fc: number; start: number; end: number; i: number }> = [];
    if (p.registers.filter((r) => r.quantity === 'serial_number').length > 1) {
      ctx.addIssue({ code: 'custom', path: ['registers'], message: 'at most one serial_number register' });
    }
    p.registers.forEach((r, i) => {
      if (names.has(r.name)) ctx.addIssue({ code: 'custom', path: ['registers', i, 'name'], message: `duplicate name "${r.name}"` });
      names.add(r.name);
      // A reading carries each OBIS code at most once.
      if (codes.has(r.obis)) ctx.addIssue({ code: 'custom', path: ['registers', i, 'obis'], message: `duplicate OBIS code ${r.obis}` });
      codes.add(r.obis);
      const end = r.address + registerWords(r);
      if (end > 0x10000) ctx.addIssue({ code: 'custom', path: ['registers', i, 'address'], message: 'register runs past address 0xFFFF' });
      const clash = spans.find((s) => s.fc === r.functionCode && r.address < s.end && s.start < end);
      if (clash) {
        ctx.addIssue({ code: 'custom', path: ['registers', i, 'address'], message: `overlaps registers[${clash.i}]` });
      }
      spans.push({ fc: r.functionCode, start: r.address, end, i });
      if (r.unit !== QUANTITY_UNITS[r.quantity]) {
        ctx.addIssue({ code: 'custom', path: ['registers', i, 'unit'], message: `${r.quantity} is reported in ${QUANTITY_UNITS[r.quantity]}, not ${r.unit}` });
      }
      // Energy leaves the agent as an integer count of Wh (varh, VAh): never a multiple, never a fraction.
      if (ENERGY_QUANTITIES.has(r.quantity) && r.scaler !== 0) {
        ctx.addIssue({ code: 'custom', path: ['registers', i, 'scaler'], message: `${r.quantity} must have scaler 0 (integer ${r.unit})` });
      }
      // IEC 62056-6-1 §7.5: value group D = 8 is a time integral, so an x.x.C.8.E.x code (totals and the
      // time-of-use tariffs E = 1..4) must be an energy register, and only energy registers roll over.
      if (isEnergyObis(r.obis) !== ENERGY_QUANTITY_NAMES.has(r.quantity)) {
        ctx.addIssue({ code: 'custom', path: ['registers', i, 'obis'], message: `${r.obis} and quantity ${r.quantity} disagree (OBIS D = 8 is energy)` });
      }
      for (const key of ['rollover', 'maxRatePerHour'] as const) {
        if (r[key] !== undefined && !ENERGY_QUANTITY_NAMES.has(r.quantity)) {
          ctx.addIssue({ code: 'custom', path: ['registers', i, key], message: `only energy registers have a ${key}` });
        }
      }
      // The serial number identifies the meter: DLMS/COSEM device ID 1 is 0.0.96.1.0.255 (IEC 62056-6-1 §7.4.3).
      if (r.quantity === 'serial_number' && !/^0\.0\.96\.1\.[0-9]{1,3}\.255$/.test(r.obis)) {
        ctx.addIssue({ code: 'custom', path: ['registers', i, 'obis'], message: 'a serial number register uses OBIS 0.0.96.1.x.255 (device ID)' });
      }
    });
  });

export type RegisterDef = z.output<typeof registerDefSchema>;
export type MeterProfile = z.output<typeof meterProfileSchema>;

/** Number of 16-bit registers a value of this type occupies. */
export function registerWords(def: Pick<RegisterDef, 'type'>): 1 | 2 {
  return def.type === 'uint16' || def.type === 'int16' ? 1 : 2;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  return out || '(root)';
}

/** Validates untrusted profile data; throws HardwareError PROFILE_INVALID naming the offending field(s). */
export function parseProfile(data: unknown, origin = 'profile'): MeterProfile {
  const result = meterProfileSchema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  const more = result.error.issues.length > 5 ? ` (+${result.error.issues.length - 5} more)` : '';
  throw new HardwareError('PROFILE_INVALID', `${origin}: ${issues.join('; ')}${more}`, { cause: result.error });
}
