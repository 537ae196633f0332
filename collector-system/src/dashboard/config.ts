// The dashboard's part of the collector config (collector-system/src/config.ts: `dashboard`).
import { z } from 'zod';
import { isOperatorName, parsePasswordHash } from './auth.js';

const passwordHash = z.string().superRefine((v, ctx) => {
  try {
    parsePasswordHash(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
  }
});

export const OperatorSchema = z.strictObject({
  name: z.string().refine(isOperatorName, { message: 'must be 1..64 of A-Z a-z 0-9 . _ -' }),
  /** scrypt$N$r$p$salt$hash, made by `meterseal collector hash-password` (or hashPassword()). */
  passwordHash,
});

/** A users file: {"operators":[{"name","passwordHash"}]} (mode 0600 recommended). */
export const UsersFileSchema = z.strictObject({ operators: z.array(OperatorSchema).max(1000) });

export const DashboardConfigSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Loopback by default; anything else exposes the login page to that network. */
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8470),
  /** Operators in the config itself; `usersFile` adds more. At least one is needed when enabled. */
  operators: z.array(OperatorSchema).max(1000).default([]),
  usersFile: z.string().min(1).optional(),
  /** A file holding at least 32 random bytes that sign session cookies; absent: a new secret per start (sessions end with the process). */
  sessionSecretFile: z.string().min(1).optional(),
  sessionTtlMs: z.number().int().min(60_000).max(7 * 24 * 3600_000).default(8 * 3600_000),
  /** Mark the cookie Secure: set it when the dashboard is served over TLS (a reverse proxy). */
  secureCookie: z.boolean().default(false),
  /** Failed logins allowed per client address and per operator name in `loginWindowMs`. */
  loginMaxFailures: z.number().int().min(1).max(1000).default(5),
  loginWindowMs: z.number().int().min(1000).max(24 * 3600_000).default(15 * 60_000),
  /** A meter is "silent" when nothing arrived from it for this long. */
  silentAfterMs: z.number().int().min(1000).default(5 * 60_000),
  /** The air-gap controller's audit log, when it is readable from this host: the window history. */
  airgapAuditLog: z.string().min(1).optional(),
});

export type DashboardConfig = z.output<typeof DashboardConfigSchema>;
export type DashboardConfigInput = z.input<typeof DashboardConfigSchema>;
