// meterseal/v1/ledger/bind (docs/protocol.md §7): a KeyBinding signed by the identity key, accepted within
// bindWindowMs of a successful authentication that no binding has used yet. The signed binding is the log
// entry. A binding covers seqs from firstSeq up to the next binding's firstSeq, so firstSeq must lie after
// every anchored seq and not before the meter's previous binding. Resending the same signed binding is answered
// with its leaf (duplicate: true); a different binding of the same session key is a CONFLICT.
import {
  assertAcceptablePublicKey, bytesEqual, decodeKeyBinding, encodeSigned, keyId, toHex, verifyRecordNative,
} from '@meterseal/protocol';
import { Rejection, describe } from '../errors.js';
import { refuseIfRevoked } from '../revocation.js';
import { decodeSigned, requireMeter, type Handler } from './context.js';

/**
 * Issue 5 item 6: every session key id bound for the meter, oldest first (at most MAX_KEY_IDS, the newest), so
 * the agent can alarm on a binding it did not make (device/src/session-schedule.ts KeyHistoryCheck).
 */
const MAX_KEY_IDS = 256;
function boundKeyIds(deps: Parameters<Handler>[2], meterId: string): string[] {
  const ids: string[] = [];
  let b = deps.store.nextBinding(meterId, { firstSeq: 0n, leafIndex: -1n });
  for (let n = 0; b && n < 100_000; n++, b = deps.store.nextBinding(meterId, b)) {
    ids.push(toHex(b.keyId));
    if (ids.length > MAX_KEY_IDS) ids.shift();
  }
  return ids;
}

export const handleBind: Handler = (ctx, payload, deps) => {
  const { record, signature, value: b } = decodeSigned(payload, decodeKeyBinding, 'KeyBinding');
  ctx.meterId = b.meterId;
  const meter = requireMeter(deps, b.meterId);
  const identityKeyId = keyId(meter.identityPublicKey);
  if (!bytesEqual(b.identityKeyId, identityKeyId)) {
    throw new Rejection('KEY_MISMATCH', `identityKeyId ${toHex(b.identityKeyId)} is not meter ${b.meterId}'s identity key ${toHex(identityKeyId)}`);
  }
  if (!verifyRecordNative(record, signature, deps.keyCache.get(meter.identityPublicKey))) {
    throw new Rejection('BAD_SIGNATURE', `the key binding is not signed by meter ${b.meterId}'s identity key`);
  }
  refuseIfRevoked(deps.store, meter); // issue 5: a revoked meter binds no new session key

  const signed = encodeSigned(record, signature);
  const sessionKeyId = keyId(b.sessionPublicKey);
  const existing = deps.store.getBinding(b.meterId, sessionKeyId);
  if (existing) {
    const prev = deps.log.entry(existing.leafIndex);
    if (prev && bytesEqual(prev, signed)) return { leafIndex: existing.leafIndex.toString(), duplicate: true };
    throw new Rejection('CONFLICT', `session key ${toHex(sessionKeyId)} is already bound for meter ${b.meterId} by another binding (leaf ${existing.leafIndex})`);
  }

  try {
    assertAcceptablePublicKey(b.sessionPublicKey);
  } catch (cause) {
    throw new Rejection('BAD_KEY', `sessionPublicKey: ${describe(cause)}`, { cause });
  }
  if (bytesEqual(b.sessionPublicKey, meter.identityPublicKey)) throw new Rejection('BAD_KEY', 'the session key must not be the identity key');

  const window = deps.config.bindWindowMs;
  const auth = deps.store.unusedAuthPass(b.meterId, ctx.nowMs - window);
  if (!auth) {
    throw new Rejection('NOT_AUTHENTICATED', `meter ${b.meterId} has no successful authentication in the last ${window} ms that is not already used by a binding`);
  }
  const maxSeq = deps.store.maxAnchoredSeq(b.meterId);
  if (maxSeq !== undefined && b.firstSeq <= maxSeq) {
    throw new Rejection('BAD_FIRST_SEQ', `firstSeq ${b.firstSeq} must be greater than ${maxSeq}, the highest seq anchored for meter ${b.meterId}`);
  }
  // Equal is allowed: an agent that re-enrols before taking a reading binds a new key from the same seq,
  // and the superseded binding then covers nothing. Lower is not: ranges would overlap.
  const latest = deps.store.latestBinding(b.meterId);
  if (latest && b.firstSeq < latest.firstSeq) {
    throw new Rejection('BAD_FIRST_SEQ', `firstSeq ${b.firstSeq} must not be less than ${latest.firstSeq}, the firstSeq of meter ${b.meterId}'s latest binding`);
  }

  const binding = { meterId: b.meterId, keyId: sessionKeyId, sessionPublicKey: b.sessionPublicKey, firstSeq: b.firstSeq };
  const leafIndex = deps.log.append(signed, { kind: 'binding', binding, authLeafIndex: auth.leafIndex });
  deps.logger.info({ meterId: b.meterId, keyId: toHex(sessionKeyId), firstSeq: b.firstSeq.toString(), leafIndex: leafIndex.toString() }, 'session key bound');
  return { leafIndex: leafIndex.toString(), duplicate: false, keyIds: boundKeyIds(deps, b.meterId) };
};
