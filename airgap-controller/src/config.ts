import { z } from 'zod';
import { AirgapError } from './errors.js';
import { isLoopbackAddress } from './loopback.js';

/** Longest delay setTimeout honours (2^31 - 1 ms); a longer window would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

const port = z.number().int().min(0).max(65535);

const loopbackHost = z
  .string()
  .refine(isLoopbackAddress, { message: 'must be a loopback IP address (127.0.0.0/8 or ::1)' });

const loopbackEndpoint = z.strictObject({
  host: loopbackHost.default('127.0.0.1'),
  /** 0 = an ephemeral port chosen by the OS; the actual port is reported. */
  port: port.default(0),
});

export const AirgapConfigSchema = z.strictObject({
  /** Which isolation mechanism to drive. Only the software `relay` exists today (README §Security). */
  driver: z.enum(['relay']).default('relay'),
  /** Where the controller listens for the collector's control connection. Loopback only. */
  control: loopbackEndpoint.prefault({}),
  /** Where the relay listens while a window is open. Loopback only. */
  relay: loopbackEndpoint.prefault({}),
  /** The ledger's read-only HTTP query API, as reachable from this host. */
  target: z.strictObject({
    host: z.string().min(1),
    port: port.min(1),
  }),
  /** Hard upper bound on a window's life; a request may ask for less, never more. */
  maxWindowMs: z.number().int().min(1).max(MAX_TIMER_MS).default(120_000),
  /** Append-only JSON-lines audit file (created if missing, parent directories too). */
  auditLog: z.string().min(1),
});

export type AirgapConfig = z.output<typeof AirgapConfigSchema>;
export type AirgapConfigInput = z.input<typeof AirgapConfigSchema>;

/** Parses and defaults a config, throwing AirgapError CONFIG_INVALID that names each bad field. */
export function parseAirgapConfig(input: unknown): AirgapConfig {
  const result = AirgapConfigSchema.safeParse(input);
  if (!result.success) {
    throw new AirgapError('CONFIG_INVALID', `invalid airgap-controller config: ${describeIssues(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/** "a.b: message; c: message" — field paths and zod's messages, without echoing values. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
