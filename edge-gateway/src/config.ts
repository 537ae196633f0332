// Gateway configuration (zod, with defaults): the bus it polls, the meters on it, both uplinks, the disk cap
// and the local broker for meters that sign their own readings.
import { z } from 'zod';
import { METER_ID_PATTERN } from '@meterseal/protocol';
import { GatewayError } from './errors.js';

const meterId = z.string().regex(METER_ID_PATTERN, 'ids are 1..64 characters of A-Z a-z 0-9 . _ -');

export const GatewayMeter = z.object({
  meterId,
  customerAccount: z.string().min(1).max(128),
  /** Modbus unit id on the shared bus (Modbus over serial line V1.02 §2.2: 1..247). */
  unitId: z.number().int().min(1).max(247).optional(),
  /** DL/T 645 only: the meter's 12-digit address (DL/T 645-2007 §5.2.2). */
  address: z.string().regex(/^[0-9]{12}$/).optional(),
  profile: z.string().optional(),
}).strict();

export const GatewayConfig = z.object({
  dataDir: z.string().min(1),
  /** Named in every Delivery and gap this gateway signs on a meter's behalf (docs/protocol.md §12.2). */
  gatewayId: meterId,
  bus: z.object({
    path: z.string().min(1).optional(),
    protocol: z.enum(['modbus', 'dlt645']).default('modbus'),
    baudRate: z.number().int().positive().optional(),
    timeoutMs: z.number().int().positive().default(1000),
  }).strict().prefault({}),
  meters: z.array(GatewayMeter).max(247).default([]),
  /** One poll of every meter per interval. */
  intervalMs: z.number().int().min(50).default(900_000),
  ledger: z.object({ url: z.string().url().default('mqtt://127.0.0.1:1883') }).strict().prefault({}),
  collector: z.object({ url: z.string().url().default('mqtt://127.0.0.1:1884') }).strict().prefault({}),
  requestTimeoutMs: z.number().int().positive().default(5000),
  maxInFlight: z.number().int().min(1).max(1000).default(32),
  /** Queued (not yet acknowledged on both interfaces) bytes across all outboxes before polling stops. */
  diskCapBytes: z.number().int().min(1024).default(256 * 1024 * 1024),
  /** Polling also stops when the data directory's file system has less than this free. */
  minFreeBytes: z.number().int().min(0).default(32 * 1024 * 1024),
  /** Group commit: a reading waits at most this long for others to share its transaction and fsync. */
  commitWindowMs: z.number().int().min(0).max(10_000).default(20),
  /** Group commit: the transaction is written at once when this many readings are waiting. */
  commitMaxReadings: z.number().int().min(1).max(10_000).default(256),
  /** Delete readings acknowledged on both interfaces (keeping the newest per meter). */
  pruneAcked: z.boolean().default(true),
  firmwareHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Meters that sign their own readings publish here; forwarded untouched (forwarder.ts). */
  localBroker: z.object({
    enabled: z.boolean().default(false),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(1885),
    /** Messages held in memory per uplink while it is down; beyond, new ones are refused (the meter resends). */
    maxQueued: z.number().int().min(1).default(50_000),
  }).strict().prefault({}),
}).strict().superRefine((c, ctx) => {
  const ids = new Set<string>();
  for (const [i, m] of c.meters.entries()) {
    if (ids.has(m.meterId)) ctx.addIssue({ code: 'custom', path: ['meters', i, 'meterId'], message: `meter ${m.meterId} listed twice` });
    ids.add(m.meterId);
    if (c.bus.protocol === 'dlt645' && m.address === undefined) ctx.addIssue({ code: 'custom', path: ['meters', i, 'address'], message: 'required on a dlt645 bus' });
  }
});

export type GatewayConfig = z.output<typeof GatewayConfig>;
export type GatewayConfigInput = z.input<typeof GatewayConfig>;

export function parseGatewayConfig(input: unknown): GatewayConfig {
  const r = GatewayConfig.safeParse(input);
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new GatewayError('CONFIG_INVALID', `gateway config: ${why}`, { cause: r.error });
}
