// Meter exchange (issue 5): a known meter that comes back with a different identity key is refused
// (KEY_MISMATCH, handlers/register.ts) until an operator approves exactly that key with
// `meterseal ledger approve-exchange METER --key HEX`. The operator-signed MeterExchangeApproval (protocol
// 0x0A) is appended to the log; the meter's next registration with that key then replaces its row (a new
// Registration entry and certificate). Readings signed under the old identity's session keys stay valid.
import { bytesEqual, decodeMeterExchangeApproval, keyId, toHex, verifyOperatorAction } from '@meterseal/protocol';
import type { LedgerDeps } from './handlers/context.js';
import { AdminRefusal, checkActionTime, type OperatorCheck } from './operator-auth.js';
import type { MeterEventRow } from './revocation-events.js';
import type { LedgerStore, MeterRow } from './store.js';

/** An approval, made after the meter's current registration, of exactly `newKey` replacing the current key. */
export function approvedExchange(store: LedgerStore, meter: MeterRow, newKey: Uint8Array): MeterEventRow | undefined {
  const current = keyId(meter.identityPublicKey);
  return store.meterEvents(meter.meterId).find((e) => e.event === 'exchange-approved' && e.leafIndex > meter.registrationIndex &&
    bytesEqual(e.identityKeyId, current) && e.newIdentityPublicKey !== undefined && bytesEqual(e.newIdentityPublicKey, newKey));
}

export interface ApproveResult {
  meterId: string;
  leafIndex: string;
  already: boolean;
  operatorId: string;
}

export function applyExchangeApproval(deps: LedgerDeps, signed: Uint8Array, check: OperatorCheck): ApproveResult {
  const { action: a, credential } = verifyOperatorAction(signed, decodeMeterExchangeApproval, { ...check, role: 'approve-exchange' });
  checkActionTime(a.timeMs, check);
  const meter = deps.store.getMeter(a.meterId);
  if (!meter) throw new AdminRefusal('UNKNOWN_METER', `meter ${a.meterId} is not registered: a new meter just registers`, 404);
  if (!bytesEqual(keyId(meter.identityPublicKey), a.oldIdentityKeyId)) {
    throw new AdminRefusal('STALE', `the approval replaces identity key ${toHex(a.oldIdentityKeyId)} but ${a.meterId} has ${toHex(keyId(meter.identityPublicKey))}`, 409);
  }
  if (bytesEqual(meter.identityPublicKey, a.newIdentityPublicKey)) throw new AdminRefusal('SAME_KEY', `${a.meterId} already has that identity key`, 409);
  const existing = approvedExchange(deps.store, meter, a.newIdentityPublicKey);
  if (existing) return { meterId: a.meterId, leafIndex: existing.leafIndex.toString(), already: true, operatorId: credential.operatorId };
  const leafIndex = deps.log.append(signed, {
    kind: 'meter-event',
    event: {
      meterId: a.meterId, event: 'exchange-approved', identityKeyId: a.oldIdentityKeyId, detail: credential.operatorId,
      newIdentityPublicKey: a.newIdentityPublicKey, atMs: Number(a.timeMs),
    },
  });
  deps.logger.warn({ meterId: a.meterId, operator: credential.operatorId, newKey: toHex(keyId(a.newIdentityPublicKey)), leafIndex: leafIndex.toString() }, 'meter exchange approved');
  return { meterId: a.meterId, leafIndex: leafIndex.toString(), already: false, operatorId: credential.operatorId };
}

/**
 * GET /v1/meters/:id/keys: the meter's identity key, its operator events, and every session key bound, in
 * (firstSeq, leafIndex) order — each covers seqs from its firstSeq up to the next one's (docs/protocol.md §7).
 */
export function keyHistory(store: LedgerStore, meterId: string): Record<string, unknown> | undefined {
  const meter = store.getMeter(meterId);
  if (!meter) return undefined;
  const sessions: Array<Record<string, string>> = [];
  let b = store.nextBinding(meterId, { firstSeq: 0n, leafIndex: -1n });
  for (let n = 0; b && n < 100_000; n++) {
    const next = store.nextBinding(meterId, b);
    sessions.push({ keyId: toHex(b.keyId), sessionPublicKey: toHex(b.sessionPublicKey), firstSeq: b.firstSeq.toString(), ...(next ? { untilSeq: next.firstSeq.toString() } : {}), leafIndex: b.leafIndex.toString() });
    b = next;
  }
  return {
    meterId,
    identity: { keyId: toHex(keyId(meter.identityPublicKey)), publicKey: toHex(meter.identityPublicKey), registrationIndex: meter.registrationIndex.toString() },
    events: store.meterEvents(meterId).map((e) => ({ event: e.event, leafIndex: e.leafIndex.toString(), identityKeyId: toHex(e.identityKeyId), ...(e.newIdentityPublicKey ? { newIdentityPublicKey: toHex(e.newIdentityPublicKey) } : {}) })),
    sessions,
  };
}
