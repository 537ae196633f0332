import { validate } from 'node-cron';
import { z } from 'zod';
import { AirgapError } from './errors.js';
import { isIfName, isNetnsName, parseIpv4Cidr, sameSubnet } from './drivers/ip-command.js';
import { isLoopbackAddress } from './loopback.js';
import { DEFAULT_HTTP_ALLOWLIST } from './drivers/http-filter.js';

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

/** Fields every driver shares. */
const common = {
  /** Where the controller listens for the collector's control connection. Loopback only. */
  control: loopbackEndpoint.prefault({}),
  /** Hard upper bound on a window's life; a request may ask for less, never more. */
  maxWindowMs: z.number().int().min(1).max(MAX_TIMER_MS).default(120_000),
  /** Append-only JSON-lines audit file (created if missing, parent directories too). */
  auditLog: z.string().min(1),
  /**
   * README §Policy: windows for scheduled reconciliation only in slots that start at each tick of a node-cron
   * expression (UTC) and last slotMs; an operator's request (with a name and a reason) is granted any time.
   * Absent: every request is granted.
   */
  schedule: z
    .strictObject({
      cron: z.string().min(1).max(100).refine((s) => validate(s), { message: 'must be a valid node-cron expression' }),
      slotMs: z.number().int().min(1000).max(MAX_TIMER_MS).default(10 * 60_000),
    })
    .optional(),
  /** README §Ledger record: each open and close signed (AirgapWindow, 0x14) and POSTed to the ledger. */
  ledgerRecord: z
    .strictObject({
      url: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL'),
      keyFile: z.string().min(1),
      required: z.boolean().default(true),
      timeoutMs: z.number().int().min(100).max(60_000).default(5000),
    })
    .optional(),
};

const targetEndpoint = z.strictObject({ host: z.string().min(1), port: port.min(1) });

/** `relay`: a userspace TCP relay on loopback (a software gap, README §Security). */
const RelayConfigSchema = z.strictObject({
  driver: z.literal('relay').default('relay'),
  ...common,
  /** Where the relay listens while a window is open. Loopback only. */
  relay: loopbackEndpoint.prefault({}),
  /** The ledger's read-only HTTP query API, as reachable from this host. */
  target: targetEndpoint,
  /**
   * README §Policy: only body-less GETs on these paths (exact, or prefixes ending in "/") are relayed;
   * anything else is answered 403 and audited. null turns the relay into a plain TCP pipe.
   */
  httpAllowlist: z
    .array(z.string().regex(/^\/[A-Za-z0-9._~\/-]{0,200}$/, 'must be a path starting with "/" (prefixes end in "/")'))
    .max(100)
    .nullable()
    .default([...DEFAULT_HTTP_ALLOWLIST]),
});

const netnsName = z.string().refine(isNetnsName, { message: 'must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}' });
const ifName = z.string().refine(isIfName, { message: 'must match [A-Za-z0-9][A-Za-z0-9_.-]{0,14}' });
const ipv4Cidr = z.string().refine((s) => parseIpv4Cidr(s) !== undefined, { message: 'must be an IPv4 address with prefix /1../31' });

/** `netns`: a veth pair between two network namespaces, up only during a window. */
const NetnsConfigSchema = z.strictObject({
  driver: z.literal('netns'),
  ...common,
  netns: z
    .strictObject({
      ledgerNs: netnsName,
      collectorNs: netnsName,
      vethLedger: ifName,
      vethCollector: ifName,
      ledgerAddr: ipv4Cidr,
      collectorAddr: ipv4Cidr,
    })
    .refine((n) => n.ledgerNs !== n.collectorNs, { message: 'ledgerNs and collectorNs must differ' })
    .refine((n) => n.vethLedger !== n.vethCollector, { message: 'vethLedger and vethCollector must differ' })
    .refine(
      (n) => {
        const [a, b] = [parseIpv4Cidr(n.ledgerAddr), parseIpv4Cidr(n.collectorAddr)];
        return a !== undefined && b !== undefined && sameSubnet(a, b);
      },
      { message: 'ledgerAddr and collectorAddr must be different hosts in one subnet' },
    ),
  /** The ledger API as the collector namespace sees it; host defaults to ledgerAddr's address. */
  target: z.strictObject({ host: z.string().min(1).optional(), port: port.min(1) }),
});

/** `gpio`: a physical relay on a GPIO line that connects the cable only during a window. */
const GpioConfigSchema = z.strictObject({
  driver: z.literal('gpio'),
  ...common,
  gpio: z.strictObject({
    backend: z.enum(['sysfs', 'libgpiod']),
    /** The chip for libgpiod ("gpiochip0"); recorded but unused by sysfs, whose line numbers are global. */
    chip: z.string().regex(/^gpiochip[0-9]{1,3}$/).default('gpiochip0'),
    /** The line offset on `chip` (libgpiod), or the global GPIO number (sysfs). */
    line: z.number().int().min(0).max(65535),
    /** true: the relay is energised (link connected) when the line is high. */
    activeHigh: z.boolean().default(true),
    /** sysfs only: the gpio class directory (default /sys/class/gpio). */
    sysfsRoot: z.string().min(1).optional(),
  }),
  /** The ledger API that the physical link makes reachable; the collector connects here during a window. */
  target: targetEndpoint,
});

export const AirgapConfigSchema = z.discriminatedUnion('driver', [RelayConfigSchema, NetnsConfigSchema, GpioConfigSchema]);

export type AirgapConfig = z.output<typeof AirgapConfigSchema>;
export type AirgapConfigInput = z.input<typeof AirgapConfigSchema>;
export type RelayConfig = z.output<typeof RelayConfigSchema>;
export type RelayConfigInput = z.input<typeof RelayConfigSchema>;
export type NetnsConfig = z.output<typeof NetnsConfigSchema>;
export type GpioConfig = z.output<typeof GpioConfigSchema>;

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
