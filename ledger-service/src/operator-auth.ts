// Authentication of operator commands (issue 5): every command carries an OperatorCredential (0x22) signed
// by a utility key the ledger trusts (config operators.utilityPublicKeys) and is signed by the operator key.
// Replay (issue 5 item 8): each request's time must be within maxSkewMs of the ledger's clock; request
// nonces are remembered for twice that window, so a captured request cannot be sent again.
import {
  operatorRequestMessage, sha256, verifyOperatorCredential, verifyRecord, type OperatorCredential, type OperatorRole,
} from '@meterseal/protocol';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { LedgerError } from './errors.js';

export interface OperatorCheck {
  trustedIssuers: Uint8Array[];
  nowMs: () => number;
  /** How far a request's time may be from the ledger's clock. */
  maxSkewMs: number;
}

/** An operator command refused: `reason` is the specific code (EXPIRED, NOT_PERMITTED, STALE, ...). */
export class AdminRefusal extends LedgerError {
  constructor(readonly reason: string, message: string, readonly status = 400, options: { cause?: unknown } = {}) {
    super('OPERATOR_REFUSED', message, options);
    this.name = 'AdminRefusal';
  }
}

export function checkActionTime(timeMs: bigint, check: OperatorCheck): void {
  const skew = Number(timeMs) - check.nowMs();
  if (Math.abs(skew) > check.maxSkewMs) {
    throw new AdminRefusal('STALE_REQUEST', `the request is dated ${new Date(Number(timeMs)).toISOString()}, more than ${check.maxSkewMs} ms from the ledger's clock`, 401);
  }
}

/**
 * Nonces seen within the replay window. With `file`, every nonce is also appended there (JSON lines
 * {"n": hex, "exp": epoch ms}, mode 0600) before the request is acted on, and the unexpired ones are read
 * back at start: a restart of the ledger does not reopen the replay window (issue 5). The file is
 * rewritten with only the live nonces when it is loaded.
 */
export class NonceWindow {
  private readonly seen = new Map<string, number>();
  constructor(private readonly ttlMs: number, private readonly max = 100_000, private readonly file?: string, nowMs = Date.now()) {
    if (file === undefined) return;
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new LedgerError('KEY_FILE_INVALID', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    const live: Array<[string, number]> = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      let e: unknown;
      try {
        e = JSON.parse(line);
      } catch {
        continue; // a torn last line after a crash: that request was never acted on
      }
      const { n, exp } = e as { n?: unknown; exp?: unknown };
      if (typeof n === 'string' && /^[0-9a-f]{1,128}$/.test(n) && typeof exp === 'number' && exp > nowMs) live.push([n, exp]);
    }
    live.sort((a, b) => a[1] - b[1]); // expiry order = insertion order for use()'s purge
    for (const [n, exp] of live.slice(-max)) this.seen.set(n, exp);
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, [...this.seen].map(([n, exp]) => JSON.stringify({ n, exp }) + '\n').join(''), { mode: 0o600 });
    renameSync(tmp, file);
  }
  /** False when the nonce was already used. */
  use(nonce: string, nowMs: number): boolean {
    for (const [k, exp] of this.seen) {
      if (exp > nowMs && this.seen.size < this.max) break; // insertion order: the oldest come first
      this.seen.delete(k);
    }
    if (this.seen.has(nonce)) return false;
    const exp = nowMs + this.ttlMs;
    if (this.file !== undefined) appendFileSync(this.file, JSON.stringify({ n: nonce, exp }) + '\n', { mode: 0o600 }); // durable before acting
    this.seen.set(nonce, exp);
    return true;
  }
}

export interface OperatorRequest {
  credential: Uint8Array;
  timeMs: bigint;
  nonce: Uint8Array;
  signature: Uint8Array;
}

/** Checks a signed operator request (import-meters) over `body`. */
export function verifyOperatorRequest(
  op: OperatorRole, req: OperatorRequest, body: Uint8Array, check: OperatorCheck, nonces: NonceWindow,
): OperatorCredential {
  let credential: OperatorCredential;
  try {
    credential = verifyOperatorCredential(req.credential, { ...check, role: op });
  } catch (cause) {
    throw refusalFrom(cause);
  }
  checkActionTime(req.timeMs, check);
  const message = operatorRequestMessage(op, req.timeMs, req.nonce, sha256(body));
  if (!verifyRecord(message, req.signature, credential.operatorPublicKey)) {
    throw new AdminRefusal('BAD_SIGNATURE', `the ${op} request is not signed by operator ${credential.operatorId}'s key`, 401);
  }
  if (!nonces.use(Buffer.from(req.nonce).toString('hex'), check.nowMs())) throw new AdminRefusal('REPLAYED', 'this request was already received', 409);
  return credential;
}

/** A ProtocolError from a credential or record check, as a refusal naming its code. */
export function refusalFrom(err: unknown): AdminRefusal {
  if (err instanceof AdminRefusal) return err;
  const code = (err as { code?: unknown }).code;
  const forbidden = code === 'NOT_PERMITTED' ? 403 : 401;
  return new AdminRefusal(typeof code === 'string' ? code : 'BAD_REQUEST', (err as Error).message ?? String(err), typeof code === 'string' ? forbidden : 400, { cause: err });
}
