// meterseal/v1/ledger/gap/<meterId> (docs/protocol.md §12): a signed gap record — "seqs X-Y missing because R" —
// in a Delivery. The ledger may read it (a gap reveals no consumption), logs it, and anchors it exactly like a
// reading: the anchor at seq X with SHA-256 of the gap record and the meter's signature goes through the
// anchor path (handlers/anchor.ts, anchor-ingest.ts), so the same session-key, signature, duplicate and
// conflict rules apply and the answer is an ordinary anchor answer (op "anchor", ref X).
import {
  GAP_TOPIC_PREFIX, LedgerTopics, METER_ID_PATTERN, ProtocolError, decodeGapDelivery, encodeSigned, gapReasonName,
} from '@meterseal/protocol';
import type { AnchorIngest } from '../anchor-ingest.js';
import { Rejection, describe } from '../errors.js';
import type { LedgerDeps, RequestContext } from './context.js';

/** The meter id in meterseal/v1/ledger/gap/<meterId>, if it is one. */
export function gapTopicMeterId(topic: string): string | undefined {
  const id = topic.slice(GAP_TOPIC_PREFIX.length);
  return topic.startsWith(GAP_TOPIC_PREFIX) && METER_ID_PATTERN.test(id) ? id : undefined;
}

/** Best effort before anything is checked: who to answer, and ref = the gap's first seq. */
export function peekGap(ctx: RequestContext, payload: Uint8Array): void {
  const id = gapTopicMeterId(ctx.topic);
  if (id !== undefined) ctx.meterId = id;
  try {
    ctx.ref = decodeGapDelivery(payload).gap.firstSeq.toString();
  } catch {
    // refused by handleGap with the reason
  }
}

/** Decodes, checks the topic, anchors the gap's anchor; resolves with the anchor answer's fields. */
export async function handleGap(ctx: RequestContext, payload: Uint8Array, deps: LedgerDeps, ingest: AnchorIngest): Promise<Record<string, unknown>> {
  const topicMeterId = gapTopicMeterId(ctx.topic);
  if (topicMeterId === undefined) throw new Rejection('MALFORMED', `topic ${JSON.stringify(ctx.topic.slice(0, 120))} does not end in a meter id`);
  let d;
  try {
    d = decodeGapDelivery(payload);
  } catch (err) {
    const code = err instanceof ProtocolError ? ` [${err.code}]` : '';
    throw new Rejection('MALFORMED', `not a gap delivery: ${describe(err)}${code}`, { cause: err });
  }
  ctx.ref = d.gap.firstSeq.toString();
  if (d.gap.meterId !== topicMeterId) {
    throw new Rejection('TOPIC_MISMATCH', `the gap is for meter ${d.gap.meterId} but was published on ${topicMeterId}'s topic`);
  }
  // the anchor path reads the meter from the anchor topic; the signature is over the gap's anchor (§12)
  const anchorCtx: RequestContext = { ...ctx, topic: LedgerTopics.anchor(topicMeterId) };
  const fields = await ingest.anchor(anchorCtx, encodeSigned(d.anchor, d.signature));
  const g = d.gap;
  deps.logger.info(
    {
      meterId: g.meterId, firstSeq: g.firstSeq.toString(), lastSeq: g.lastSeq.toString(), reason: gapReasonName(g.reason),
      fromMs: g.fromMs.toString(), toMs: g.toMs.toString(), signer: g.signer || undefined,
      leafIndex: fields.leafIndex, duplicate: fields.duplicate,
    },
    'gap anchored',
  );
  return fields;
}
