// meterseal/v1/ledger/anchor/<meterId> (docs/protocol.md §4, §9): a signed Anchor — the hot path. The
// session key is found by (meter, key id) and must cover the seq; the signature is checked with native
// crypto and a cached KeyObject. The same anchor again maps to the same leaf (duplicate: true); a different,
// validly signed anchor for a used (meter, seq) is a CONFLICT. The answer is built only after the append
// has committed.
import {
  LedgerTopics, METER_ID_PATTERN, bytesEqual, decodeAnchor, encodeSigned, toHex, verifyRecordNative,
} from '@meterseal/protocol';
import { Rejection } from '../errors.js';
import { decodeSigned, requireMeter, type Handler } from './context.js';

/** The meter id in meterseal/v1/ledger/anchor/<meterId>, if it is one. */
export function anchorTopicMeterId(topic: string): string | undefined {
  const id = topic.slice(LedgerTopics.anchorPrefix.length);
  return topic.startsWith(LedgerTopics.anchorPrefix) && METER_ID_PATTERN.test(id) ? id : undefined;
}

export const handleAnchor: Handler = (ctx, payload, deps) => {
  const topicMeterId = anchorTopicMeterId(ctx.topic);
  if (topicMeterId === undefined) {
    throw new Rejection('MALFORMED', `topic ${JSON.stringify(ctx.topic.slice(0, 120))} does not end in a meter id`);
  }
  const { record, signature, value: a } = decodeSigned(payload, decodeAnchor, 'Anchor');
  ctx.ref = a.seq.toString();
  if (a.meterId !== topicMeterId) {
    throw new Rejection('TOPIC_MISMATCH', `the anchor is for meter ${a.meterId} but was published on ${topicMeterId}'s topic`);
  }
  requireMeter(deps, a.meterId);

  const signed = encodeSigned(record, signature);
  const existing = deps.store.getAnchor(a.meterId, a.seq);
  if (existing) {
    const prev = deps.log.entry(existing.leafIndex);
    if (prev && bytesEqual(prev, signed)) return { seq: a.seq.toString(), leafIndex: existing.leafIndex.toString(), duplicate: true };
  }

  const binding = deps.store.getBinding(a.meterId, a.keyId);
  if (!binding) throw new Rejection('NO_SESSION_KEY', `no session key with key id ${toHex(a.keyId)} is bound for meter ${a.meterId}`);
  const next = deps.store.nextBinding(a.meterId, binding);
  if (a.seq < binding.firstSeq || (next && a.seq >= next.firstSeq)) {
    const upTo = next ? `${next.firstSeq}` : '∞';
    throw new Rejection('SEQ_OUTSIDE_BINDING', `seq ${a.seq} is outside [${binding.firstSeq}, ${upTo}), the seqs session key ${toHex(a.keyId)} covers`);
  }
  if (!verifyRecordNative(record, signature, deps.keyCache.get(binding.sessionPublicKey))) {
    throw new Rejection('BAD_SIGNATURE', `anchor seq ${a.seq} is not signed by session key ${toHex(a.keyId)}`);
  }
  if (existing) {
    throw new Rejection(
      'CONFLICT',
      `meter ${a.meterId} seq ${a.seq} is already anchored at leaf ${existing.leafIndex} with reading hash ` +
        `${toHex(existing.readingHash)}; refused a validly signed different anchor with reading hash ${toHex(a.readingHash)}`,
    );
  }

  const leafIndex = deps.log.append(signed, {
    kind: 'anchor',
    anchor: { meterId: a.meterId, seq: a.seq, readingHash: a.readingHash, keyId: a.keyId },
  });
  return { seq: a.seq.toString(), leafIndex: leafIndex.toString(), duplicate: false };
};
