// The DLMS/COSEM simulator's configuration: a zod schema with defaults, like the other simulators'.
import { z } from 'zod';
import { SimulatorError } from '../errors.js';
import { faultsSchema } from '../faulty-line.js';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `must be ${bytes} bytes of hex`);

export const dlmsSimulatorConfigSchema = z.strictObject({
  /** Serial device to serve on, e.g. one end of a socat pty pair. Omit when serving on a stream. */
  path: z.string().min(1).max(4096).optional(),
  /** IEC 62056-46 direct HDLC lines usually run 9600 8N1; a pty ignores the rate. */
  baudRate: z.int().min(300).max(4_000_000).default(9600),
  /** HDLC server address (IEC 62056-46 §6.4.2.2): upper = logical device (1 = management), lower = physical. */
  logicalAddress: z.int().min(0).max(0x3fff).default(1),
  physicalAddress: z.int().min(0).max(0x3fff).default(0),
  /** `meterseal sim --address N`: the physical address as digits (overrides physicalAddress). */
  address: z.string().regex(/^[0-9]{1,5}$/, 'must be the HDLC physical address, 0..16383').refine((a) => Number(a) <= 0x3fff, 'must be 0..16383').optional(),
  /** DLMS profile id in @meterseal/hardware's profiles/ (dlms-…). */
  profile: z.string().min(1).max(64).default('dlms-single-phase'),
  /** What a client must present: nothing, a password (LLS, mechanism 1), or HLS-GMAC (mechanism 5). */
  auth: z.enum(['none', 'lls', 'hls']).default('none'),
  password: z.string().min(1).max(64).default('12345678'),
  /** HLS keys (AES-128) and the meter's system title; defaults: the Green Book example keys. */
  authenticationKey: hex(16).default('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF'),
  encryptionKey: hex(16).default('000102030405060708090A0B0C0D0E0F'),
  systemTitle: hex(8).default('4D534C0000000001'),
  serialNumber: z.string().regex(/^[\x20-\x7e]{1,32}$/).default('00000001'),
  /** COSEM logical device name (0.0.42.0.0.255): 3-letter manufacturer id + up to 13 characters. */
  logicalDeviceName: z.string().regex(/^[\x20-\x7e]{3,16}$/).default('MSL0000000000001'),
  /** Largest APDU the meter sends or accepts; longer GET answers go out with block transfer. */
  maxPdu: z.int().min(64).max(0xffff).default(512),
  /** HDLC information field lengths the meter accepts (IEC 62056-46 §6.4.4.4.3.2). */
  maxInfoLength: z.int().min(32).max(2030).default(128),
  loadProfileDays: z.number().min(0).max(60).default(2),
  seed: z.int().min(0).max(0xffffffff).default(1),
  loadScale: z.number().min(0).max(1000).default(1),
  initialEnergyWh: z.number().min(0).max(1e12).default(0),
  /** Meter clock error: ms ahead of true UTC; and the clock_status byte it reports. */
  clockOffsetMs: z.int().min(-86_400_000 * 365).max(86_400_000 * 365).default(0),
  clockStatus: z.int().min(0).max(255).default(0),
  /** Parity of the modelled line (pacing only: a pty is always 8N1); pace answers at baudRate. */
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  pace: z.boolean().default(false),
  /** The shared fault layer (faulty-line.ts): dropped/corrupt answers (FCS), delay, reboots, clock drift. */
  faults: faultsSchema.prefault({}),
  /** DLMS misbehaviour for robustness tests: bytes appended after every Get-Response's Data (a known server
   *  bug), and random non-flag bytes sent before every frame (line noise). */
  misbehave: z.strictObject({ trailingBytes: z.int().min(0).max(64).default(0), noiseBytes: z.int().min(0).max(64).default(0) }).prefault({}),
});

export type DlmsSimulatorConfigInput = z.input<typeof dlmsSimulatorConfigSchema>;
export type DlmsSimulatorConfig = z.output<typeof dlmsSimulatorConfigSchema>;

export function parseDlmsSimulatorConfig(input: unknown): DlmsSimulatorConfig {
  const r = dlmsSimulatorConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new SimulatorError('CONFIG_INVALID', `DLMS simulator config: ${why}`, { cause: r.error });
}
