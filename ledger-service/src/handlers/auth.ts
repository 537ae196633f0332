// meterseal/v1/ledger/auth (docs/protocol.md §6): an AuthResponse signed by the identity key. EVERY result,
// pass or fail, is appended to the log as an AuthResult entry (seed 001 step 2) before the answer; a
// failure is then answered AUTH_FAILED with its reason. The nonce is single use: an answer with a valid
// signature uses it up, even when late; a bad signature does not (an unauthenticated message must not be
// able to burn a meter's challenge).
import { decodeAuthResponse, encodeAuthResult, verifyRecordNative } from '@meterseal/protocol';
import { Rejection } from '../errors.js';
import { decodeSigned, type Handler } from './context.js';

export type AuthReason = 'ok' | 'bad-signature' | 'unknown-nonce' | 'expired-challenge' | 'unknown-meter';

export const handleAuth: Handler = (ctx, payload, deps) => {
  const { record, signature, value: a } = decodeSigned(payload, decodeAuthResponse, 'AuthResponse');
  ctx.meterId = a.meterId;
  const meter = deps.store.getMeter(a.meterId);
  let reason: AuthReason;
  if (!meter) reason = 'unknown-meter';
  else if (!verifyRecordNative(record, signature, deps.keyCache.get(meter.identityPublicKey))) reason = 'bad-signature';
  else reason = deps.challenges.consume(a.meterId, a.nonce, ctx.nowMs);
  const passed = reason === 'ok';
  const entry = encodeAuthResult({ meterId: a.meterId, passed, reason, timeMs: BigInt(ctx.nowMs) });
  const leafIndex = deps.log.append(entry, { kind: 'auth', meterId: a.meterId, passed, atMs: ctx.nowMs });
  if (!passed) {
    throw new Rejection('AUTH_FAILED', `authentication of ${a.meterId} failed: ${reason}`, {
      fields: { passed: false, reason, leafIndex: leafIndex.toString() },
    });
  }
  return { passed: true, reason, leafIndex: leafIndex.toString() };
};
