// The ledger's configuration: a zod schema with defaults (CONTRIBUTING: "configs are zod schemas with
// defaults, loaded by the CLI from --config FILE and --data-dir DIR").
import { join } from 'node:path';
import { z } from 'zod';
import { parseCosignatureVerifierKey } from '@meterseal/protocol';
import { LedgerError } from './errors.js';
import { LedgerMetricsConfigSchema } from './metrics.js';

const port = z.number().int().min(0).max(65535);

/** c2sp.org/signed-note key names (the origin doubles as the note key name): no spaces, no '+'. */
const origin = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !/[\s+]/u.test(s), { message: 'must contain no whitespace and no "+" (it is the note key name)' });

export const MqttConfigSchema = z
  .strictObject({
    /** Run an aedes broker inside the ledger. Forced to false when `url` is set. */
    embedded: z.boolean().default(true),
    /** Where the embedded broker listens. */
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 = an ephemeral port chosen by the OS; the actual one is reported as handle.mqttUrl. */
    port: port.default(1883),
    /** An external broker, e.g. mqtt://127.0.0.1:1883 (mosquitto). */
    url: z.url({ protocol: /^(mqtt|mqtts|ws|wss)$/ }).optional(),
    /**
     * MQTT version the ledger's own client speaks: 5 by default for an external broker; the embedded
     * aedes 1.x speaks only 3.1.1 (4), so 4 is used there (docs/protocol.md §9).
     */
    protocolVersion: z.union([z.literal(4), z.literal(5)]).optional(),
    /**
     * Embedded broker over TLS (broker.ts, issue 5): PEM files of the CA that signs meter client certificates
     * and of the broker's certificate and key. Clients must present a certificate; CN = meter id gets acl.ts.
     */
    tls: z.strictObject({ ca: z.string().min(1), cert: z.string().min(1), key: z.string().min(1) }).optional(),
  })
  .transform((m) => (m.url !== undefined ? { ...m, embedded: false } : m))
  .superRefine((m, ctx) => {
    if (!m.embedded && m.url === undefined) ctx.addIssue({ code: 'custom', message: 'mqtt.url is required when mqtt.embedded is false' });
    if (m.embedded && m.protocolVersion === 5) {
      ctx.addIssue({ code: 'custom', message: 'the embedded broker (aedes 1.x) does not speak MQTT 5; use protocolVersion 4 or an external url' });
    }
  });

/** A witness the ledger submits its checkpoints to (c2sp.org/tlog-witness) and whose cosignatures it attaches. */
export const WitnessTargetSchema = z.strictObject({
  /** The witness's submission prefix, e.g. http://127.0.0.1:8580 (POST <url>/add-checkpoint). */
  url: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')),
  /** The witness's c2sp.org/tlog-cosignature vkey `name+keyhash+base64(0x04||pub)`: its answers must verify with it. */
  verifierKey: z.string().superRefine((v, ctx) => {
    try {
      parseCosignatureVerifierKey(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a cosignature/v1 verifier key: ${err instanceof Error ? err.message : String(err)}` });
    }
  }),
});

export const LedgerConfigSchema = z
  .strictObject({
    /** Holds ledger.key, ledger.pub, ledger.vkey, account-salt, ledger.sqlite and (by default) whitelist.json. */
    dataDir: z.string().min(1),
    /** The log origin: first line of every checkpoint, the note key name, and logOrigin in certificates. */
    origin: origin.default('meterseal.local/ledger'),
    mqtt: MqttConfigSchema.prefault({}),
    http: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8480),
      })
      .prefault({}),
    /** Default <dataDir>/whitelist.json. */
    whitelistFile: z.string().min(1).optional(),
    /** A new signed checkpoint is made this often when the tree has grown. */
    checkpointIntervalMs: z.number().int().min(10).max(3_600_000).default(1000),
    /** How long a challenge nonce may be answered. */
    challengeTtlMs: z.number().int().min(1).max(3_600_000).default(30_000),
    /** How long after a successful authentication the meter may bind a session key. */
    bindWindowMs: z.number().int().min(1).max(86_400_000).default(300_000),
    /** Largest to-from of GET /v1/anchors. */
    maxRangePerRequest: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Anchor ingest (group commit, anchor-ingest.ts). */
    ingest: z
      .strictObject({
        /** Most anchors appended in one transaction. */
        maxGroup: z.number().int().min(1).max(10_000).default(512),
        /** Threads verifying signatures of large groups; default: cores − 1, at least 1. 0: on the event loop. */
        verifyWorkers: z.number().int().min(0).max(64).optional(),
      })
      .prefault({}),
    /** Witnesses fed each new checkpoint; their cosignatures are attached to GET /checkpoint (witness-attach.ts). */
    witnesses: z.array(WitnessTargetSchema).max(32).default([]),
    /** Air-gap controllers whose signed AirgapWindow records POST /v1/airgap-events accepts (airgap-events.ts). */
    airgapControllerKeys: z.array(z.string().regex(/^[0-9a-f]{64}$/, 'a 32-byte Ed25519 public key in hex')).max(16).default([]),
    /** Prometheus metrics endpoint (metrics.ts); off by default, loopback when on. */
    metrics: LedgerMetricsConfigSchema.prefault({}),
    /** Receipts (receipt.ts) use the newest checkpoint cosigned by at least this many configured witnesses. */
    witnessQuorum: z.number().int().min(0).max(32).default(0),
    /**
     * Log rotation by period (period-set.ts, docs/ledger.md): one log per UTC period, origin "<origin>/<period>",
     * files <dataDir>/periods/<period>.sqlite; each new log's entry 0 commits the previous final checkpoint.
     * Absent: one log for ever (<dataDir>/ledger.sqlite). `day` and `hour` are for tests and small pilots.
     */
    rotation: z
      .strictObject({
        period: z.enum(['month', 'day', 'hour']).default('month'),
        /**
         * The next period's carried key state is prepared this long before the boundary (period-prepare.ts), in
         * small batches between other work, so the boundary appends only entry 0 and the key events since.
         * Default: 1 h for a month, 10 min for a day, 2 min for an hour; 0 turns preparation off (the carry is
         * then done whole at the boundary).
         */
        prepareAheadMs: z.number().int().min(0).max(7 * 86_400_000).optional(),
        /** Meters whose highest seq anchored in closed periods is kept in memory (period-closed-anchors.ts). */
        closedSeqCacheMeters: z.number().int().min(0).max(100_000_000).default(500_000),
      })
      .optional(),
    /** Inclusion promises (promise.ts): the deadline is the answer's time plus this maximum merge delay. */
    maxMergeDelayMs: z.number().int().min(1).max(86_400_000).default(300_000),
    /**
     * The meter CA (meter-ca.ts, issue 5 item 9): files in dataDir, a client certificate (CN = meter id) for
     * every registration that carries a tlsCsr. When enabled, the embedded broker serves MQTT over TLS with
     * its certificate (unless mqtt.tls is given), and the ledger's client uses ledger-client.crt on an mqtts url.
     */
    meterCa: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** subjectAltName of the broker's server certificate (mqtt-server.crt). */
        hosts: z.array(z.string().min(1).max(253)).min(1).max(16).default(['127.0.0.1', 'localhost']),
        /** Validity of an issued meter certificate (RFC 5280 §4.1.2.5); renewed when the meter registers again. */
        meterCertDays: z.number().int().min(1).max(3650).default(365),
      })
      .prefault({}),
    /** Failed authentications logged one by one per window before they are summarised (auth-log.ts). */
    authFailures: z
      .strictObject({
        windowMs: z.number().int().min(1000).max(86_400_000).default(600_000),
        perMeter: z.number().int().min(0).max(1000).default(5),
        unregistered: z.number().int().min(0).max(100_000).default(20),
        /** Failures per MQTT client id per window before that client is refused outright (embedded broker only). */
        perClient: z.number().int().min(1).max(100_000).default(50),
        /** Failures per remote address per window (many meters may share one address behind NAT or a gateway). */
        perAddress: z.number().int().min(1).max(1_000_000).default(500),
      })
      .optional(),
    /**
     * The operator admin API (operator.ts): revoke, approve-exchange, import-meters. Off unless configured;
     * loopback by default. Requests need an OperatorCredential (0x22) issued by one of utilityPublicKeys.
     */
    admin: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8481),
        utilityPublicKeys: z.array(z.string().regex(/^[0-9a-f]{64}$/, 'a 32-byte Ed25519 public key in hex')).min(1),
        /** How far an operator request's time may be from the ledger's clock (replay window). */
        maxSkewMs: z.number().int().min(1000).max(3_600_000).default(300_000),
      })
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (c.witnessQuorum > c.witnesses.length) {
      ctx.addIssue({ code: 'custom', path: ['witnessQuorum'], message: `quorum ${c.witnessQuorum} exceeds the ${c.witnesses.length} configured witnesses` });
    }
  })
  .transform((c) => ({ ...c, whitelistFile: c.whitelistFile ?? join(c.dataDir, 'whitelist.json') }));

export type LedgerConfig = z.output<typeof LedgerConfigSchema>;
export type LedgerConfigInput = z.input<typeof LedgerConfigSchema>;

/** Validates a config (e.g. parsed JSON merged with --data-dir); errors name every bad field. */
export function parseLedgerConfig(input: unknown): LedgerConfig {
  const r = LedgerConfigSchema.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(config)'}: ${i.message}`).join('; ');
    throw new LedgerError('CONFIG_INVALID', `invalid ledger config: ${msg}`, { cause: r.error });
  }
  return r.data;
}
