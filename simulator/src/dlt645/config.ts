// The DL/T 645 simulator's configuration: a zod schema with defaults, like the Modbus simulator's.
import { z } from 'zod';
import { SimulatorError } from '../errors.js';
import { faultsSchema } from '../faulty-line.js';

export const dlt645SimulatorConfigSchema = z.strictObject({
  /** Serial device to serve on, e.g. one end of a socat pty pair. Omit when serving on a stream. */
  path: z.string().min(1).max(4096).optional(),
  /** DL/T 645 meters ship at 2400 bps; a pty ignores the rate. */
  baudRate: z.int().min(300).max(4_000_000).default(2400),
  /** The meter's 12-digit address, nameplate order (DL/T 645-2007 §5.2.2: A5 first when printed). */
  address: z.string().regex(/^[0-9]{12}$/, 'must be 12 decimal digits').default('000000000001'),
  /** DL/T 645 profile id in @meterseal/hardware's profiles/: which identifiers the meter answers. */
  profile: z.string().min(1).max(64).default('dlt645-single-phase'),
  /** FEH bytes before each answer (§5.3.1), 0..4. */
  preamble: z.int().min(0).max(4).default(4),
  seed: z.int().min(0).max(0xffffffff).default(1),
  loadScale: z.number().min(0).max(1000).default(1),
  initialEnergyWh: z.number().min(0).max(1e12).default(0),
  /** Local time of the meter's clock (04000101/04000102) = UTC + this many minutes; State Grid meters: +08:00. */
  utcOffsetMin: z.int().min(-720).max(840).default(480),
  /** Whether the meter answers date/time (04000101, 04000102); false models a meter without a clock. */
  hasClock: z.boolean().default(true),
  /** Parity of the modelled line for pacing (§5.1: 8E1, 11 bits per character). */
  parity: z.enum(['none', 'even', 'odd']).default('even'),
  /** Pace answers at baudRate, as a real line would (a pty delivers instantly). */
  pace: z.boolean().default(false),
  /** Injected faults: dropped/corrupt answers, delay, reboots, clock drift. */
  faults: faultsSchema.prefault({}),
});

export type Dlt645SimulatorConfigInput = z.input<typeof dlt645SimulatorConfigSchema>;
export type Dlt645SimulatorConfig = z.output<typeof dlt645SimulatorConfigSchema>;

export function parseDlt645SimulatorConfig(input: unknown): Dlt645SimulatorConfig {
  const r = dlt645SimulatorConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new SimulatorError('CONFIG_INVALID', `DL/T 645 simulator config: ${why}`, { cause: r.error });
}
