import { z } from 'zod';
import { METER_ID_PATTERN } from '@meterseal/protocol';

export const AgentConfig = z.object({
  dataDir: z.string().min(1),
  meterId: z.string().regex(METER_ID_PATTERN, 'meter id must be 1..64 characters of A-Z a-z 0-9 . _ -'),
  customerAccount: z.string().min(1).max(128),
  serial: z
    .object({
      path: z.string().min(1).optional(),
      baudRate: z.number().int().positive().default(9600),
      unitId: z.number().int().min(1).max(247).default(1), // Modbus serial line §2.2: unit ids 1..247
      profile: z.string().default('chint-ddsu666'),
      timeoutMs: z.number().int().positive().default(1000),
    })
    .strict()
    .default({ baudRate: 9600, unitId: 1, profile: 'chint-ddsu666', timeoutMs: 1000 }),
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
