// Billing-grade profile data shared by every profile kind (issue 4 item 1): the meter's maximum power (bounds
// plausible energy increases), each energy register's rollover value, and where the model keeps its event
// log (terminal cover opened, magnetic tamper, power failure) and load-profile captures.
import { z } from 'zod';

/** Events the agent cares about for tamper evidence. */
export const EVENT_KINDS = ['meter_cover_opened', 'terminal_cover_opened', 'magnetic_tamper', 'power_failure'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * The meter's maximum power in W (= Wh per hour): Imax × the highest rated voltage × phases. An energy
 * register that rises faster than this is flagged (StatusFlag.JumpBeyondPhysicalMaximum, docs/protocol.md §3).
 */
export const maxPowerW = z.number().positive().max(1e9);

/** The value (in the register's target unit, e.g. Wh) at which an energy register wraps back to 0. */
export const rollover = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** The largest plausible increase per hour (target unit per hour); overrides maxPowerW for one register. */
export const maxRatePerHour = z.number().positive().max(1e12);

/** Where the manual says the fact comes from; required so that nothing in a profile is unsourced. */
const citation = z.string().min(10).max(500);

/** An event counter or record the meter keeps, as a Modbus register (profile kind "modbus"). */
export const modbusEventSchema = z.strictObject({
  kind: z.enum(EVENT_KINDS),
  description: z.string().max(200).optional(),
  /** PDU address 0..65535 (Modbus Application Protocol V1.1b3 §4.4). */
  address: z.int().min(0).max(0xffff),
  functionCode: z.union([z.literal(3), z.literal(4)]),
  type: z.enum(['uint16', 'uint32']),
  /** "count": how many times it happened; "record": the last occurrence's time stamp. */
  holds: z.enum(['count', 'record']),
  citation,
});

/** An event counter or record as a DL/T 645-2007 data identifier (Appendix A, event records 03xxxxxx). */
export const dlt645EventSchema = z.strictObject({
  kind: z.enum(EVENT_KINDS),
  description: z.string().max(200).optional(),
  di: z
    .string()
    .regex(/^[0-9A-Fa-f]{8}$/, 'must be 8 hex digits, DI3 first')
    .transform((s) => s.toUpperCase()),
  /** BCD digits as the standard writes them, e.g. "XXXXXX" for a 3-byte count. */
  format: z.string().regex(/^(X{2})+$/, 'must be pairs of X (BCD bytes)'),
  holds: z.enum(['count', 'record']),
  citation,
});

/** A load-profile capture (DLMS Profile generic 1.0.99.1.0.255 and friends, or a vendor's interval log). */
export const loadProfileSchema = z.strictObject({
  /** OBIS code of the profile object (IEC 62056-6-1 §7.5: 1.0.99.1.0.255 load profile 1). */
  obis: z.string().regex(/^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){5}$/, 'must be an OBIS code A.B.C.D.E.F'),
  /** Capture period in seconds. */
  intervalS: z.int().min(1).max(86_400),
  /** OBIS codes of the captured registers, in capture order. */
  captures: z.array(z.string()).min(1).max(64),
  citation,
});

export type ModbusEventDef = z.output<typeof modbusEventSchema>;
export type Dlt645EventDef = z.output<typeof dlt645EventSchema>;
export type LoadProfileDef = z.output<typeof loadProfileSchema>;

/** A fact-check shared by both kinds: rollover and maxRatePerHour only make sense on energy registers. */
export const ENERGY_QUANTITY_NAMES: ReadonlySet<string> = new Set(['active_energy', 'reactive_energy', 'apparent_energy']);

/** OBIS value group D = 8 is a time integral (energy, IEC 62056-6-1 §7.5): only energy quantities carry it. */
export function isEnergyObis(obis: string): boolean {
  const g = obis.split('.');
  return g[0] === '1' && g[3] === '8';
}

/** Time-of-use tariff registers: OBIS 1.0.C.8.E.255 with E = 1..4 (IEC 62056-6-1: E = tariff rate). */
export function tariffOf(obis: string): number | null {
  const g = obis.split('.');
  if (g[0] !== '1' || g[3] !== '8') return null;
  const e = Number(g[4]);
  return e >= 1 && e <= 63 ? e : null;
}
