// Operator authentication for the dashboard: scrypt password hashes (RFC 7914), HMAC-signed session
// cookies (RFC 6265 §4.1, HttpOnly + SameSite=Strict), per-session CSRF tokens and a login rate limit.
import { createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { CollectorError } from '../errors.js';

/** scrypt cost parameters (RFC 7914 §2): N = 2^15, r = 8, p = 1 — about 32 MiB and tens of ms per check. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, keyLen: 32, maxmem: 64 * 1024 * 1024 };

/** "scrypt$N$r$p$<salt b64url>$<hash b64url>" — the format stored in the config or the users file. */
export function hashPassword(password: string, salt: Uint8Array = randomBytes(16)): string {
  const hash = scryptSync(password, salt, SCRYPT.keyLen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: SCRYPT.maxmem });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, Buffer.from(salt).toString('base64url'), hash.toString('base64url')].join('$');
}

const HASH_PATTERN = /^scrypt\$(\d{1,8})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{43})$/;

/** Checks that a stored hash is well-formed and its parameters are sane (never runs scrypt). */
export function parsePasswordHash(stored: string): { N: number; r: number; p: number; salt: Buffer; hash: Buffer } {
  const m = HASH_PATTERN.exec(stored);
  if (!m) throw new CollectorError('CONFIG_INVALID', 'a password hash must look like scrypt$N$r$p$salt$hash (see `meterseal collector hash-password`)');
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 1024 || N > 1 << 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 4) {
    throw new CollectorError('CONFIG_INVALID', 'password hash parameters out of range (N a power of two 2^10..2^20, r 1..32, p 1..4)');
  }
  return { N, r, p, salt: Buffer.from(m[4]!, 'base64url'), hash: Buffer.from(m[5]!, 'base64url') };
}

export function verifyPassword(password: string, stored: string): boolean {
  const { N, r, p, salt, hash } = parsePasswordHash(stored);
  const got = scryptSync(password, salt, hash.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  return timingSafeEqual(got, hash);
}

export interface Session {
  user: string;
  /** Epoch ms (UTC) after which the cookie is refused. */
  expiresAtMs: number;
  /** Random per session; the CSRF token is derived from it. */
  nonce: string;
}

const USER_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const isOperatorName = (s: string): boolean => USER_PATTERN.test(s);

/** Signs and checks session cookies and CSRF tokens with one server secret (HMAC-SHA256, RFC 2104). */
export class SessionSigner {
  readonly #key: Buffer;
  constructor(secret: Uint8Array) {
    if (secret.length < 32) throw new CollectorError('CONFIG_INVALID', 'the session secret must be at least 32 bytes');
    this.#key = Buffer.from(secret);
  }

  #mac(purpose: string, data: string): string {
    return createHmac('sha256', this.#key).update(`${purpose}\n${data}`).digest('base64url');
  }

  /** "<user>.<expiresAtMs>.<nonce>.<mac>" — every part from a fixed charset, no '.' inside one. */
  issue(user: string, ttlMs: number, nowMs: number): { cookie: string; session: Session } {
    if (!isOperatorName(user)) throw new CollectorError('CONFIG_INVALID', 'operator names are 1..64 of A-Z a-z 0-9 . _ -');
    const session = { user, expiresAtMs: nowMs + ttlMs, nonce: randomBytes(16).toString('base64url') };
    const body = `${user}.${session.expiresAtMs}.${session.nonce}`;
    return { cookie: `${body}.${this.#mac('session', body)}`, session };
  }

  /** The session a cookie value proves, or null (malformed, forged, or expired). */
  check(cookie: string | undefined, nowMs: number): Session | null {
    if (cookie === undefined || cookie.length > 256) return null;
    const parts = cookie.split('.');
    if (parts.length !== 4) return null;
    const [user, exp, nonce, mac] = parts as [string, string, string, string];
    if (!isOperatorName(user) || !/^\d{1,15}$/.test(exp) || !/^[A-Za-z0-9_-]{22}$/.test(nonce)) return null;
    const want = Buffer.from(this.#mac('session', `${user}.${exp}.${nonce}`));
    const got = Buffer.from(mac);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
    const expiresAtMs = Number(exp);
    if (nowMs >= expiresAtMs) return null;
    return { user, expiresAtMs, nonce };
  }

  /** The CSRF token bound to one session (synchroniser token: forms carry it, a cross-site page cannot read it). */
  csrfToken(session: Session): string {
    return this.#mac('csrf', `${session.user}.${session.nonce}`);
  }

  checkCsrf(session: Session, token: unknown): boolean {
    if (typeof token !== 'string' || token.length > 100) return false;
    const want = Buffer.from(this.csrfToken(session));
    const got = Buffer.from(token);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** A token for the login form, bound to a random pre-login cookie (double submit, against login CSRF). */
  loginToken(preNonce: string): string {
    return this.#mac('login', preNonce);
  }

  checkLoginToken(preNonce: string | undefined, token: unknown): boolean {
    if (preNonce === undefined || !/^[A-Za-z0-9_-]{22}$/.test(preNonce) || typeof token !== 'string' || token.length > 100) return false;
    const want = Buffer.from(this.loginToken(preNonce));
    const got = Buffer.from(token);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

/**
 * Failed-login limiter: at most `maxFailures` failures per key (client address, and operator name) in a
 * sliding `windowMs`; beyond that every attempt is refused until old failures age out. Bounded memory.
 */
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>();
  constructor(
    readonly maxFailures: number,
    readonly windowMs: number,
    readonly maxKeys = 10_000,
  ) {}

  #recent(key: string, nowMs: number): number[] {
    const list = (this.#failures.get(key) ?? []).filter((t) => nowMs - t < this.windowMs);
    if (list.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, list);
    return list;
  }

  /** Whether another attempt may be checked now. */
  allowed(keys: string[], nowMs: number): boolean {
    return keys.every((k) => this.#recent(k, nowMs).length < this.maxFailures);
  }

  fail(keys: string[], nowMs: number): void {
    for (const k of keys) {
      if (!this.#failures.has(k) && this.#failures.size >= this.maxKeys) {
        const oldest = this.#failures.keys().next().value;
        if (oldest !== undefined) this.#failures.delete(oldest);
      }
      this.#failures.set(k, [...this.#recent(k, nowMs), nowMs]);
    }
  }

  succeed(keys: string[]): void {
    for (const k of keys) this.#failures.delete(k);
  }
}

/** Parses a Cookie header (RFC 6265 §5.4) into name → value; ignores malformed pairs, bounded. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header || header.length > 4096) return out;
  for (const pair of header.split(';').slice(0, 50)) {
    const i = pair.indexOf('=');
    if (i <= 0) continue;
    const name = pair.slice(0, i).trim();
    if (name && !out.has(name)) out.set(name, pair.slice(i + 1).trim());
  }
  return out;
}
