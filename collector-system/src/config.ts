// The collection system's configuration (CONTRIBUTING: zod schemas with defaults, loaded by the CLI).
import { z } from 'zod';
import { CollectorError } from './errors.js';
import { DashboardConfigSchema } from './dashboard/config.js';
import { MetricsConfigSchema } from './metrics.js';

const port = z.number().int().min(0).max(65535);

const MqttSchema = z
  .strictObject({
    /** Run the embedded MQTT 5 broker (default unless `url` is given). */
    embedded: z.boolean().optional(),
    /** Where the embedded broker listens (port 0 = ephemeral; the actual URL is on the handle). */
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(1884),
    /** An external MQTT 5 broker, e.g. "mqtt://broker.example:1883"; needs `embedded: false` or no `embedded`. */
    url: z.string().regex(/^mqtts?:\/\//, 'must be an mqtt:// or mqtts:// URL').optional(),
    /** MQTT level of the collector's client on an external broker (default 5; the embedded aedes speaks 3.1.1 = 4). */
    protocolVersion: z.union([z.literal(4), z.literal(5)]).optional(),
    /** Credentials of the collector's client on an external broker. */
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** Largest MQTT packet the embedded broker accepts (a delivery is well under 8 KiB). */
    maxPacketBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
    /**
     * MQTT over TLS on the embedded broker with per-meter client certificates (tls.ts, issue 5 item 9): the
     * broker's certificate and key (PEM files), and the ledger's meter CA certificate (its meter-ca.crt) that
     * must have issued every client's certificate. Absent: plain MQTT (the demo's default).
     */
    tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1), clientCa: z.string().min(1) }).optional(),
  })
  .transform((m, ctx) => {
    const embedded = m.embedded ?? m.url === undefined;
    if (embedded && m.url !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'url names an external broker: set embedded to false or drop url' });
    }
    if (!embedded && m.url === undefined) ctx.addIssue({ code: 'custom', message: 'embedded is false but no url is given' });
    if (!embedded && m.tls !== undefined) ctx.addIssue({ code: 'custom', message: 'tls configures the embedded broker: an external broker has its own TLS settings' });
    return { ...m, embedded };
  });

const TrustSchema = z.strictObject({
  /** The ledger's Ed25519 public key (64 hex digits): checks identity certificates (docs/protocol.md §8). */
  ledgerPublicKey: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits').optional(),
  /** The ledger's C2SP note verifier key `name+hash+key`: checks checkpoints (§10). */
  ledgerVerifierKey: z.string().min(1).optional(),
  /** A directory holding the ledger's `ledger.pub` and/or `ledger.vkey`, as the ledger writes them. */
  ledgerKeyDir: z.string().min(1).optional(),
});

export const CollectorConfigSchema = z.strictObject({
  /** Holds collector.sqlite and reports/. */
  dataDir: z.string().min(1),
  mqtt: MqttSchema.prefault({}),
  /** One of the three is required: ingest needs a ledger public key, reconciliation a verifier key. */
  trust: TrustSchema.prefault({}),
  /** The air-gap controller's control port. */
  airgap: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: port.min(1).default(8490) }).prefault({}),
  /** The meters' reading interval: reconciliation's completeness, pending and silent-meter checks (docs/ledger.md). */
  readingIntervalMs: z.number().int().min(1000).max(86_400_000).default(900_000),
  /** The longest window a reconciliation asks the air-gap controller for. */
  reconcileMaxWindowMs: z.number().int().min(1).max(2_147_483_647).default(60_000),
  /** false: no broker and no MQTT client — a store and reconcile() only (`meterseal collector reconcile`). */
  ingest: z.boolean().default(true),
  /** Deliveries kept while their key announcement is awaited; beyond this they are refused (PENDING_FULL). */
  maxPending: z.number().int().min(0).default(100_000),
  /** The operator's dashboard (dashboard/config.ts); off by default, loopback when on. */
  dashboard: DashboardConfigSchema.prefault({}),
  /** Prometheus metrics endpoint (metrics.ts); off by default, loopback when on. */
  metrics: MetricsConfigSchema.prefault({}),
});

export type CollectorConfig = z.output<typeof CollectorConfigSchema>;
export type CollectorConfigInput = z.input<typeof CollectorConfigSchema>;
export type TrustConfig = CollectorConfig['trust'];

/** Parses and defaults a config; throws CollectorError CONFIG_INVALID naming each bad field (never echoing values). */
export function parseCollectorConfig(input: unknown): CollectorConfig {
  const result = CollectorConfigSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues
      .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
      .join('; ');
    throw new CollectorError('CONFIG_INVALID', `invalid collector-system config: ${issues}`, { cause: result.error });
  }
  return result.data;
}
