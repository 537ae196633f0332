// meterseal/v1/ledger/auth (docs/protocol.md §6): an AuthResponse signed by the identity key. EVERY result,
// pass or fail, is appended to the log as an AuthResult entry (seed 001 step 2) before the answer; a
// failure is then answered AUTH_FAILED with its reason. Past a per-meter (and, for unregistered ids, a
// shared) threshold per window, failures are summarised in one AuthSummary entry instead (auth-log.ts).
// The nonce is single use: an answer with a valid signature uses it up, even when late; a bad signature
// does not (an unauthenticated message must not be able to burn a meter's challenge).
import { decodeAuthResponse, encodeAuthResult, encodeAuthSummary, verifyRecordNative } from '@meterseal/protocol';
import { AuthFailureLog, DEFAULT_AUTH_LIMITS, SourceFailureLimit } from '../auth-log.js';
import { Rejection } from '../errors.js';
import { revocationOf } from '../revocation.js';
import { decodeSigned, type Handler, type LedgerDeps } from './context.js';

export type AuthReason = 'ok' | 'bad-signature' | 'unknown-nonce' | 'expired-challenge' | 'unknown-meter' | 'revoked';

const failureLogs = new WeakMap<LedgerDeps, AuthFailureLog>();
function failureLog(deps: LedgerDeps): AuthFailureLog {
  let f = failureLogs.get(deps);
  if (!f) failureLogs.set(deps, (f = new AuthFailureLog(deps.config.authFailures ?? DEFAULT_AUTH_LIMITS)));
  return f;
}

interface SourceLimits { byClient: SourceFailureLimit; byAddress: SourceFailureLimit }
const sourceLimits = new WeakMap<LedgerDeps, SourceLimits>();
function sourceLimit(deps: LedgerDeps): SourceLimits {
  let s = sourceLimits.get(deps);
  const c = deps.config.authFailures;
  const windowMs = c?.windowMs ?? DEFAULT_AUTH_LIMITS.windowMs;
  if (!s) sourceLimits.set(deps, (s = { byClient: new SourceFailureLimit(c?.perClient ?? 50, windowMs), byAddress: new SourceFailureLimit(c?.perAddress ?? 500, windowMs) }));
  return s;
}

/** The per-source limits that apply to a request (client id, remote address); none behind an external broker. */
function sourceKeys(ctx: { source?: { clientId?: string; address?: string } }, s: SourceLimits): Array<[SourceFailureLimit, string]> {
  const out: Array<[SourceFailureLimit, string]> = [];
  if (ctx.source?.clientId !== undefined) out.push([s.byClient, ctx.source.clientId]);
  if (ctx.source?.address !== undefined) out.push([s.byAddress, ctx.source.address]);
  return out;
}

export const handleAuth: Handler = (ctx, payload, deps) => {
  const { record, signature, value: a } = decodeSigned(payload, decodeAuthResponse, 'AuthResponse');
  ctx.meterId = a.meterId;
  // issue 5: a source (client id or address) with too many failures in the window is refused outright
  const keys = sourceKeys(ctx, sourceLimit(deps));
  if (keys.some(([limit, k]) => limit.blocked(k, ctx.nowMs))) {
    throw new Rejection('AUTH_FAILED', 'too many failed authentications from this client or address; try again later', { fields: { passed: false, reason: 'rate-limited' } });
  }
  const meter = deps.store.getMeter(a.meterId);
  let reason: AuthReason;
  if (!meter) reason = 'unknown-meter';
  else if (!verifyRecordNative(record, signature, deps.keyCache.get(meter.identityPublicKey))) reason = 'bad-signature';
  else if (revocationOf(deps.store, meter)) reason = 'revoked'; // issue 5: an operator revoked this identity key
  else reason = deps.challenges.consume(a.meterId, a.nonce, ctx.nowMs);
  const passed = reason === 'ok';
  if (!passed) for (const [limit, k] of keys) limit.fail(k, ctx.nowMs);
  // Bounded: past the per-window threshold failures are summarised (AuthSummary 0x0B, auth-log.ts)
  const failures = failureLog(deps);
  for (const s of failures.due(ctx.nowMs)) deps.log.append(encodeAuthSummary(s), { kind: 'auth-summary', failures: s.failures });
  if (!passed && !failures.admit(a.meterId, meter !== undefined, reason, ctx.nowMs)) {
    throw new Rejection('AUTH_FAILED', `authentication of ${a.meterId} failed: ${reason}`, { fields: { passed: false, reason, summarised: true } });
  }
  const entry = encodeAuthResult({ meterId: a.meterId, passed, reason, timeMs: BigInt(ctx.nowMs) });
  const leafIndex = deps.log.append(entry, { kind: 'auth', meterId: a.meterId, passed, atMs: ctx.nowMs });
  if (!passed) {
    throw new Rejection('AUTH_FAILED', `authentication of ${a.meterId} failed: ${reason}`, {
      fields: { passed: false, reason, leafIndex: leafIndex.toString() },
    });
  }
  return { passed: true, reason, leafIndex: leafIndex.toString() };
};
