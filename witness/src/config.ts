// The witness's configuration: a zod schema with defaults (CONTRIBUTING: "configs are zod schemas with
// defaults, loaded by the CLI from --config FILE and --data-dir DIR").
import { z } from 'zod';
import { parseVerifierKey, periodOfOrigin } from '@meterseal/protocol';
import { WitnessError } from './errors.js';

const port = z.number().int().min(0).max(65535);

/** c2sp.org/signed-note key names: non-empty, no whitespace, no '+'. */
const keyName = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !/[\s+]/u.test(s), { message: 'must contain no whitespace and no "+" (it is a note key name)' });

const vkey = z.string().superRefine((s, ctx) => {
  try {
    parseVerifierKey(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a C2SP Ed25519 note verifier key: ${(err as Error).message}` });
  }
});

export const WitnessLogSchema = z.strictObject({
  /** The checkpoint origin line that identifies the log (c2sp.org/tlog-checkpoint). */
  origin: z.string().min(1).max(255).refine((s) => !s.includes('\n'), { message: 'must be one line' }),
  /** The log's note verifier key `name+keyhash+base64(0x01||pub)` (the ledger's ledger.vkey). */
  verifierKey: vkey,
  /**
   * The ledger rotates its log by period (docs/ledger.md "Log rotation by period"): `origin` is its base origin
   * and checkpoints of "<origin>/<period>" are accepted too, in period order, each new period only through a
   * link to the last one cosigned (README "Ledgers that rotate their log"). False: exactly `origin`.
   */
  rotates: z.boolean().default(false),
});

export const WitnessConfigSchema = z
  .strictObject({
    /** Holds witness.key, witness.vkey and witness.sqlite. */
    dataDir: z.string().min(1),
    /** The witness's key name, the name on its cosignature lines; a schema-less URL is recommended. */
    name: keyName.default('meterseal.local/witness'),
    http: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8580),
      })
      .prefault({}),
    /** The logs this witness cosigns, one entry per origin. */
    logs: z.array(WitnessLogSchema).max(10_000).default([]),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.logs.forEach((l, i) => {
      if (seen.has(l.origin)) ctx.addIssue({ code: 'custom', path: ['logs', i, 'origin'], message: `origin "${l.origin}" is listed twice` });
      seen.add(l.origin);
    });
    // an exact origin that is a period log of a rotating ledger would have two sets of rules
    const bases = new Set(c.logs.filter((l) => l.rotates).map((l) => l.origin));
    c.logs.forEach((l, i) => {
      const base = l.origin.slice(0, Math.max(0, l.origin.lastIndexOf('/')));
      if (bases.has(base) && periodOfOrigin(base, l.origin) !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['logs', i, 'origin'], message: `origin "${l.origin}" is a period log of the rotating ledger "${base}", also listed` });
      }
    });
  });

export type WitnessConfig = z.output<typeof WitnessConfigSchema>;
export type WitnessConfigInput = z.input<typeof WitnessConfigSchema>;

/** Validates a config (e.g. parsed JSON merged with --data-dir); errors name every bad field. */
export function parseWitnessConfig(input: unknown): WitnessConfig {
  const r = WitnessConfigSchema.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(config)'}: ${i.message}`).join('; ');
    throw new WitnessError('CONFIG_INVALID', `invalid witness config: ${msg}`, { cause: r.error });
  }
  return r.data;
}
