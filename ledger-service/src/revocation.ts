// Revocation (issue 5): `meterseal ledger revoke METER --reason TEXT`. The operator-signed Revocation record
// (protocol 0x09) is appended to the log as it is; from then on the meter's registration, bindings and
// anchors are refused with REVOKED (counted under rejected.REVOKED, so they are flagged in /v1/stats).
// A revocation names the identity key it revokes: an approved meter exchange (exchange.ts) ends it.
import { bytesEqual, decodeRevocation, keyId, toHex, verifyOperatorAction } from '@meterseal/protocol';
import { Rejection } from './errors.js';
import type { LedgerDeps } from './handlers/context.js';
import { AdminRefusal, checkActionTime, type OperatorCheck } from './operator-auth.js';
import type { MeterEventRow } from './revocation-events.js';
import type { LedgerStore, MeterRow } from './store.js';

/** The revocation in force for the meter's current identity key, if any. */
export function revocationOf(store: LedgerStore, meter: MeterRow): MeterEventRow | undefined {
  const current = keyId(meter.identityPublicKey);
  return store.meterEvents(meter.meterId).find((e) => e.event === 'revoked' && bytesEqual(e.identityKeyId, current));
}

/** Throws REVOKED when the meter's current identity key is revoked. */
export function refuseIfRevoked(store: LedgerStore, meter: MeterRow): void {
  const r = revocationOf(store, meter);
  if (r) {
    throw new Rejection('REVOKED', `meter ${meter.meterId} was revoked at leaf ${r.leafIndex}: ${r.detail}`, {
      fields: { reason: 'revoked', revokedAt: r.leafIndex.toString() },
    });
  }
}

export interface RevokeResult {
  meterId: string;
  leafIndex: string;
  /** True when the meter was already revoked (the request changed nothing). */
  already: boolean;
  operatorId: string;
}

export function applyRevocation(deps: LedgerDeps, signed: Uint8Array, check: OperatorCheck): RevokeResult {
  const { action: r, credential } = verifyOperatorAction(signed, decodeRevocation, { ...check, role: 'revoke' });
  checkActionTime(r.timeMs, check);
  const meter = deps.store.getMeter(r.meterId);
  if (!meter) throw new AdminRefusal('UNKNOWN_METER', `meter ${r.meterId} is not registered`, 404);
  if (!bytesEqual(keyId(meter.identityPublicKey), r.identityKeyId)) {
    throw new AdminRefusal('STALE', `the revocation names identity key ${toHex(r.identityKeyId)} but ${r.meterId} has ${toHex(keyId(meter.identityPublicKey))}`, 409);
  }
  const existing = revocationOf(deps.store, meter);
  if (existing) return { meterId: r.meterId, leafIndex: existing.leafIndex.toString(), already: true, operatorId: credential.operatorId };
  const leafIndex = deps.log.append(signed, {
    kind: 'meter-event',
    event: { meterId: r.meterId, event: 'revoked', identityKeyId: r.identityKeyId, detail: r.reason, atMs: Number(r.timeMs) },
  });
  deps.logger.warn({ meterId: r.meterId, operator: credential.operatorId, reason: r.reason, leafIndex: leafIndex.toString() }, 'meter revoked');
  return { meterId: r.meterId, leafIndex: leafIndex.toString(), already: false, operatorId: credential.operatorId };
}
