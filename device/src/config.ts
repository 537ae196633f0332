import { z } from 'zod';
import { METER_ID_PATTERN } from '@meterseal/protocol';

export const AgentConfig = z.object({
  dataDir: z.string().min(1),
  meterId: z.string().regex(METER_ID_PATTERN, 'meter id must be 1..64 characters of A-Z a-z 0-9 . _ -'),
  customerAccount: z.string().min(1).max(128),
  serial: z
    .object({
      path: z.string().min(1).optional(),
      /** What the meter speaks: Modbus RTU, or DL/T 645-2007 (State Grid of China meters). */
      protocol: z.enum(['modbus', 'dlt645']).default('modbus'),
      /** Default 9600 for Modbus, 2400 for DL/T 645 (what State Grid meters ship at). */
      baudRate: z.number().int().positive().optional(),
      unitId: z.number().int().min(1).max(247).default(1), // Modbus serial line §2.2: unit ids 1..247
      /** DL/T 645 only: the meter's 12-digit nameplate address (DL/T 645-2007 §5.2.2). */
      address: z.string().regex(/^[0-9]{12}$/, 'DL/T 645 meter address must be 12 decimal digits').optional(),
      /** Default chint-ddsu666 for Modbus, dlt645-single-phase for DL/T 645. */
      profile: z.string().optional(),
      timeoutMs: z.number().int().positive().default(1000),
    })
    .strict()
    .refine((s) => s.protocol !== 'dlt645' || s.address !== undefined, { path: ['address'], message: 'required when serial.protocol is "dlt645"' })
    .transform(({ baudRate, profile, ...s }) => ({
      ...s,
      baudRate: baudRate ?? (s.protocol === 'dlt645' ? 2400 : 9600),
      profile: profile ?? (s.protocol === 'dlt645' ? 'dlt645-single-phase' : 'chint-ddsu666'),
    }))
    .default({ protocol: 'modbus', baudRate: 9600, unitId: 1, profile: 'chint-ddsu666', timeoutMs: 1000 }),
  /** How often to take a reading. Billing meters use 15 minutes; the demo uses less. */
  intervalMs: z.number().int().min(50).default(900_000),
  ledger: z.object({ url: z.string().url().default('mqtt://127.0.0.1:1883') }).strict().default({ url: 'mqtt://127.0.0.1:1883' }),
  collector: z.object({ url: z.string().url().default('mqtt://127.0.0.1:1884') }).strict().default({ url: 'mqtt://127.0.0.1:1884' }),
  /** SHA-256 of the agent's firmware image, hex; defaults to a hash of the agent's own package.json. */
  firmwareHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Answer timeout for one request on either interface. */
  requestTimeoutMs: z.number().int().positive().default(5000),
  /** How many readings may be in flight, unacknowledged, on one interface. */
  maxInFlight: z.number().int().min(1).max(1000).default(32),
}).strict();

export type AgentConfig = z.infer<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;
