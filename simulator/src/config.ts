// Simulator configuration: a zod schema with defaults (the CLI loads it from --config FILE).
import { z } from 'zod';
import { SimulatorError } from './errors.js';
import { faultsSchema } from './faulty-line.js';

export const simulatorConfigSchema = z.strictObject({
  /** Serial device to serve on, e.g. one end of a socat pty pair. Omit when serving on a stream. */
  path: z.string().min(1).max(4096).optional(),
  baudRate: z.int().min(300).max(4_000_000).default(9600),
  /** Modbus over Serial Line V1.02 §2.2: individual addresses 1..247. */
  unitId: z.int().min(1).max(247).default(1),
  /** Profile id in @meterseal/hardware's profiles/. */
  profile: z.string().min(1).max(64).default('chint-ddsu666'),
  seed: z.int().min(0).max(0xffffffff).default(1),
  loadScale: z.number().min(0).max(1000).default(1),
  initialEnergyWh: z.number().min(0).max(1e12).default(0),
  /** Parity of the modelled line (pacing: 10 bits per character for none, 11 for even/odd); a pty is always 8N1. */
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  /** Pace answers at baudRate, as a real line would (a pty delivers instantly). */
  pace: z.boolean().default(false),
  /** Injected faults: dropped/corrupt answers, delay, reboots, clock drift. */
  faults: faultsSchema.prefault({}),
  /** The serial number the meter reports in a "serial_number" register, if its profile has one. */
  serialNumber: z.int().min(0).max(0xffffffff).optional(),
});

export type SimulatorConfigInput = z.input<typeof simulatorConfigSchema>;
export type SimulatorConfig = z.output<typeof simulatorConfigSchema>;

export function parseSimulatorConfig(input: unknown): SimulatorConfig {
  const r = simulatorConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new SimulatorError('CONFIG_INVALID', `simulator config: ${why}`, { cause: r.error });
}
