// Who may change state on the console: a technician holding a utility-signed credential (0x20) that covers this
// meter, proving possession of the technician key for each state-changing command by signing a fresh nonce
// together with the exact command line (ConsoleAuthorisation 0x21). Wrong attempts lock the console out
// for exponentially growing periods.
import { randomBytes } from 'node:crypto';
import {
  CONSOLE_NONCE_LENGTH, decodeTechnicianCredential, fromHex, scopeCovers, splitSigned, toHex, verifyConsoleCommand, verifyTechnicianCredential,
  type TechnicianCredential,
} from '@meterseal/protocol';
import { AgentError } from '../errors.js';

/** A console refusal: `code` goes on the wire, `details` are extra JSON fields of the error. */
export class ConsoleError extends AgentError {
  constructor(code: string, message: string, readonly details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ConsoleError';
  }
}

export interface GuardOptions {
  /** Utility public keys trusted to issue technician credentials. */
  trustedIssuers: Uint8Array[];
  now: () => number;
  random?: (n: number) => Uint8Array;
  /** Failures allowed before the first lockout (default 3). */
  maxFailures?: number;
  /** First lockout (default 5 s), doubled for each further failure, up to maxLockoutMs (default 15 min). */
  baseLockoutMs?: number;
  maxLockoutMs?: number;
  /** How long a challenge nonce may be answered (default 60 s). */
  challengeTtlMs?: number;
  /** Below this UTC time the clock is taken as not yet synced (a board without RTC boots in 1970). */
  clockFloorMs?: number;
}

/**
 * No-RTC rule (issue 5 item 9): a board without a battery-backed clock starts at 1970 until NTP syncs.
 * While the clock reads earlier than the floor (default 2026-01-01, no earlier than this firmware), a
 * credential's notBefore is not enforced and its notAfter is checked against the floor: a credential that
 * expired before the firmware existed is still refused, issuer, signature and scope are checked as always,
 * and the console says `clockSynced: false`. Once the clock is past the floor the full window applies.
 */
export const CLOCK_FLOOR_MS = Date.UTC(2026, 0, 1);

export type ScopeTarget = { meterId?: string; siteId?: string };

export class TechnicianGuard {
  private credential?: TechnicianCredential;
  private nonce?: { bytes: Uint8Array; expiresAt: number };
  private failures = 0;
  private lockedUntil = 0;
  private readonly random: (n: number) => Uint8Array;

  constructor(private readonly opts: GuardOptions) {
    this.random = opts.random ?? ((n) => new Uint8Array(randomBytes(n)));
  }

  get technician(): TechnicianCredential | undefined {
    return this.credential;
  }

  lockedForMs(): number {
    return Math.max(0, this.lockedUntil - this.opts.now());
  }

  private assertNotLocked(): void {
    const ms = this.lockedForMs();
    if (ms > 0) throw new ConsoleError('LOCKED', `too many failed attempts; try again in ${Math.ceil(ms / 1000)} s`, { retryAfterMs: ms });
  }

  private fail(err: ConsoleError): never {
    this.failures++;
    const max = this.opts.maxFailures ?? 3;
    if (this.failures >= max) {
      const base = this.opts.baseLockoutMs ?? 5000;
      const ms = Math.min(base * 2 ** (this.failures - max), this.opts.maxLockoutMs ?? 15 * 60_000);
      this.lockedUntil = this.opts.now() + ms;
      throw new ConsoleError(err.code, `${err.message}; locked for ${Math.ceil(ms / 1000)} s`, { ...err.details, retryAfterMs: ms }, { cause: err.cause });
    }
    throw err;
  }

  /** `auth <credential-hex>`: checks the credential offline; scope is checked again for each command. */
  authenticate(hex: string, target: ScopeTarget): TechnicianCredential {
    this.assertNotLocked();
    this.credential = undefined;
    this.nonce = undefined;
    let cred: TechnicianCredential;
    const floor = this.opts.clockFloorMs ?? CLOCK_FLOOR_MS;
    try {
      const bytes = fromHex(hex);
      const unsynced = this.opts.now() < floor;
      const nowMs = unsynced
        ? () => { // not yet synced: never "not yet valid"; expiry against the floor
          const nb = Number(decodeTechnicianCredential(splitSigned(bytes).record).notBeforeMs);
          return Math.max(floor, Number.isSafeInteger(nb) ? nb : floor);
        }
        : this.opts.now;
      cred = verifyTechnicianCredential(bytes, { trustedIssuers: this.opts.trustedIssuers, nowMs });
    } catch (cause) {
      const code = (cause as { code?: string }).code ?? 'BAD_CREDENTIAL';
      return this.fail(new ConsoleError(code, `credential refused: ${(cause as Error).message}`, undefined, { cause }));
    }
    if (target.meterId !== undefined && !scopeCovers(cred.scope, target)) {
      throw new ConsoleError('OUT_OF_SCOPE', `credential of ${cred.technicianId} does not cover meter ${target.meterId}`);
    }
    this.failures = 0;
    this.credential = cred;
    return cred;
  }

  /** `challenge`: a fresh single-use nonce for the next signed command. */
  challenge(): { nonce: string; expiresInMs: number } {
    this.assertNotLocked();
    if (!this.credential) throw new ConsoleError('AUTH_REQUIRED', 'run `auth <credential-hex>` first');
    const ttl = this.opts.challengeTtlMs ?? 60_000;
    this.nonce = { bytes: this.random(CONSOLE_NONCE_LENGTH), expiresAt: this.opts.now() + ttl };
    return { nonce: toHex(this.nonce.bytes), expiresInMs: ttl };
  }

  /**
   * `sign <sig-hex> <command line>`: the signature must cover the outstanding nonce and exactly this command
   * line; the credential must still be in its window and cover every target. The nonce is used up either way.
   */
  authorise(sigHex: string, commandLine: string, targets: ScopeTarget[]): TechnicianCredential {
    this.assertNotLocked();
    const cred = this.credential;
    if (!cred) throw new ConsoleError('AUTH_REQUIRED', 'run `auth <credential-hex>` first');
    const nonce = this.nonce;
    this.nonce = undefined;
    if (!nonce) throw new ConsoleError('NO_CHALLENGE', 'run `challenge` first; each nonce authorises one command');
    const now = this.opts.now();
    if (now > nonce.expiresAt) throw new ConsoleError('CHALLENGE_EXPIRED', 'the challenge expired; run `challenge` again');
    if (BigInt(now) > cred.notAfterMs) {
      this.credential = undefined;
      throw new ConsoleError('EXPIRED', `credential of ${cred.technicianId} expired at ${new Date(Number(cred.notAfterMs)).toISOString()}`);
    }
    let sig: Uint8Array | undefined;
    try {
      sig = fromHex(sigHex, 64);
    } catch {
      sig = undefined;
    }
    if (!sig || !verifyConsoleCommand(nonce.bytes, commandLine, sig, cred.technicianPublicKey)) {
      return this.fail(new ConsoleError('BAD_SIGNATURE', 'signature does not cover this nonce and command line with the technician key'));
    }
    this.failures = 0;
    for (const t of targets) {
      if (!scopeCovers(cred.scope, t)) {
        throw new ConsoleError('OUT_OF_SCOPE', `credential of ${cred.technicianId} does not cover meter ${t.meterId ?? '(unset)'}${t.siteId ? ` at site ${t.siteId}` : ''}`);
      }
    }
    return cred;
  }

  logout(): void {
    this.credential = undefined;
    this.nonce = undefined;
  }
}
