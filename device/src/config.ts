import { z } from 'zod';
import { validate as validateCron } from 'node-cron';
import { METER_ID_PATTERN } from '@meterseal/protocol';

const hexKey = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `must be ${bytes} bytes of hex`);

/** serial.dlms: how the agent talks to a DLMS/COSEM meter (IEC 62056-46 addresses, DLMS UA Green Book auth). */
export const DlmsSerialOptions = z
  .object({
    /** HDLC client SAP: 16 public client (no auth), often 1 or 48 for an authenticated reading client. */
    clientAddress: z.number().int().min(1).max(126).default(16),
    /** HDLC server address: logical device (1 = management) and, on a multi-drop RS-485 line, physical address. */
    serverLogical: z.number().int().min(1).max(0x3fff).default(1),
    serverPhysical: z.number().int().min(0).max(0x3fff).optional(),
    auth: z.enum(['none', 'lls', 'hls']).default('none'),
    /** LLS password. Keys and passwords sit in this file: keep it mode 0600, owned by the agent's user. */
    password: z.string().min(1).max(64).optional(),
    /** HLS-GMAC (mechanism 5, suite 0): authentication key, global unicast encryption key, client system title. */
    authenticationKey: hexKey(16).optional(),
    encryptionKey: hexKey(16).optional(),
    systemTitle: hexKey(8).optional(),
    /** First HLS invocation counter when <dataDir>/dlms-invocation-counter does not exist yet. */
    invocationCounterStart: z.number().int().min(0).max(0xffffffff).default(0),
    /** Keep the association open between readings (default: release with RLRQ and DISC after each). */
    keepAssociation: z.boolean().default(false),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.auth === 'lls' && d.password === undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'required when auth is "lls"' });
    if (d.auth === 'hls') {
      for (const k of ['authenticationKey', 'encryptionKey', 'systemTitle'] as const) {
        if (d[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'required when auth is "hls"' });
      }
    }
  });

export const AgentConfig = z.object({
  dataDir: z.string().min(1),
  meterId: z.string().regex(METER_ID_PATTERN, 'meter id must be 1..64 characters of A-Z a-z 0-9 . _ -'),
  customerAccount: z.string().min(1).max(128),
  serial: z
    .object({
      path: z.string().min(1).optional(),
      /** What the meter speaks: Modbus RTU, or DL/T 645-2007 (State Grid of China meters). */
      protocol: z.enum(['modbus', 'dlt645', 'dlms']).default('modbus'),
      /** Default 9600 for Modbus, 2400 for DL/T 645 (what State Grid meters ship at). */
      baudRate: z.number().int().positive().optional(),
      unitId: z.number().int().min(1).max(247).default(1), // Modbus serial line §2.2: unit ids 1..247
      /** DL/T 645 only: the meter's 12-digit nameplate address (DL/T 645-2007 §5.2.2). */
      address: z.string().regex(/^[0-9]{12}$/, 'DL/T 645 meter address must be 12 decimal digits').optional(),
      /** Default chint-ddsu666 for Modbus, dlt645-single-phase for DL/T 645. */
      profile: z.string().optional(),
      timeoutMs: z.number().int().positive().default(1000),
      /** DLMS/COSEM over HDLC only (IEC 62056-46): addresses and authentication; see DlmsSerialOptions. */
      dlms: DlmsSerialOptions.optional(),
    })
    .strict()
    .refine((s) => s.protocol !== 'dlt645' || s.address !== undefined, { path: ['address'], message: 'required when serial.protocol is "dlt645"' })
    .transform(({ baudRate, profile, ...s }) => ({
      ...s,
      baudRate: baudRate ?? (s.protocol === 'dlt645' ? 2400 : 9600),
      profile: profile ?? (s.protocol === 'dlt645' ? 'dlt645-single-phase' : s.protocol === 'dlms' ? 'dlms-single-phase' : 'chint-ddsu666'),
    }))
    .default({ protocol: 'modbus', baudRate: 9600, unitId: 1, profile: 'chint-ddsu666', timeoutMs: 1000 }),
  /**
   * The physical meter this agent signs for (issue 4 item 6, device/README.md "Meter identity"): its nameplate
   * serial, DL/T 645 address or DLMS device id. Absent: the agent pins the first identity it reads.
   */
  meter: z.object({ identity: z.string().min(1).max(128).optional() }).strict().default({}),
  /** The meter's clock (issue 4 item 7, device/README.md "Meter clock"): drift tolerance and the set policy. */
  clock: z
    .object({
      /** "never" (default): the agent only reports drift. "when-drift-exceeds": it sets the meter's clock. */
      set: z.enum(['never', 'when-drift-exceeds']).default('never'),
      /** |meter time - agent time| above this flags the reading (MeterClockDriftBeyondTolerance). */
      driftToleranceS: z.number().positive().max(86_400).default(30),
      /** The largest step the agent will set the meter's clock by; a larger drift needs an operator. */
      maxStepS: z.number().positive().max(86_400).default(300),
    })
    .strict()
    .default({ set: 'never', driftToleranceS: 30, maxStepS: 300 }),
  /** Plausibility limits beyond the profile's (issue 4 item 8, device/README.md "Plausibility flags"). */
  plausibility: z
    .object({
      /** Overrides the profile's maxPowerW (e.g. a CT-connected meter: primary-side maximum power). */
      maxPowerW: z.number().positive().optional(),
    })
    .strict()
    .default({}),
  /** How often to take a reading. Billing meters use 15 minutes; the demo uses less. */
  intervalMs: z.number().int().min(50).default(900_000),
  ledger: z.object({
    url: z.string().url().default('mqtt://127.0.0.1:1883'),
    /**
     * mqtts with a client certificate per meter (issue 5 item 9, device/README.md "TLS"): the pinned meter CA
     * and the shared bootstrap certificate/key (PEM files) used until the ledger issues the meter its own.
     */
    tls: z.object({
      ca: z.string().min(1),
      bootstrapCert: z.string().min(1),
      bootstrapKey: z.string().min(1),
      /** ISO-8601 UTC; a clock earlier than this is "not set yet" (no-RTC boards). Default: the build floor. */
      timeFloor: z.iso.datetime().optional(),
    }).strict().optional(),
  }).strict().default({ url: 'mqtt://127.0.0.1:1883' }),
  collector: z.object({
    url: z.string().url().default('mqtt://127.0.0.1:1884'),
    /**
     * mqtts to the collector (issue 5 item 9, device/README.md "TLS"): the agent presents the certificate the
     * ledger's meter CA issued it (needs ledger.tls); `ca` (PEM file) must have issued the collector broker's
     * certificate. Until the meter has its own certificate the collector uplink waits (readings stay queued).
     */
    tls: z.object({
      ca: z.string().min(1),
      /** ISO-8601 UTC; a clock earlier than this is "not set yet" (no-RTC boards). Default: ledger.tls.timeFloor or the build floor. */
      timeFloor: z.iso.datetime().optional(),
    }).strict().optional(),
  }).strict().default({ url: 'mqtt://127.0.0.1:1884' }),
  /** SHA-256 of the agent's firmware image, hex; defaults to a hash of the agent's own package.json. */
  firmwareHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Answer timeout for one request on either interface. */
  requestTimeoutMs: z.number().int().positive().default(5000),
  /** How many readings may be in flight, unacknowledged, on one interface. */
  maxInFlight: z.number().int().min(1).max(1000).default(32),
  /** node-cron expression (UTC) for session-key rotation, e.g. "0 3 * * *" daily (session-schedule.ts). */
  sessionKeySchedule: z.string().min(1).max(100).refine((e) => validateCron(e), { message: 'must be a node-cron expression' }).optional(),
  /** A file (0600) holding the passphrase that encrypts the identity key at rest (keystore.ts). */
  keyPassphraseFile: z.string().min(1).optional(),
}).strict();

export type AgentConfig = z.infer<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;

/** The provisioning console on a serial line (USB gadget serial /dev/ttyGS0 on a Pi; a pty in tests). */
export const ConsoleConfig = z.object({
  path: z.string().min(1),
  baudRate: z.number().int().positive().optional(),
  /** Utility keys (hex Ed25519) whose TechnicianCredentials (0x20) the console accepts, checked offline. */
  utilityPublicKeys: z.array(z.string().regex(/^[0-9a-f]{64}$/, 'a 32-byte Ed25519 public key in hex')).min(1),
  /** How long `register` waits for the ledger's answer before reporting that it is still trying. */
  registerTimeoutMs: z.number().int().positive().default(30_000),
}).strict();

/**
 * What `meterseal agent` loads: the agent's config, where meterId and customerAccount may be left to the
 * console (an unprovisioned agent starts, serves the console and waits to be provisioned).
 */
export const AgentLaunchConfig = AgentConfig.extend({
  meterId: AgentConfig.shape.meterId.optional(),
  customerAccount: AgentConfig.shape.customerAccount.optional(),
  console: ConsoleConfig.optional(),
});
export type AgentLaunchConfig = z.infer<typeof AgentLaunchConfig>;
export type AgentLaunchConfigInput = z.input<typeof AgentLaunchConfig>;
