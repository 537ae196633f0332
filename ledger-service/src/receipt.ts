// Receipts (docs/protocol.md §10.5): for one (meter, seq), the signed anchor and the key binding that covers
// it, each with a c2sp.org/tlog-proof against ONE checkpoint — the newest cosigned by at least `witnessQuorum`
// configured witnesses (cosignature-store.ts), or with quorum 0 the current one — and the meter's identity
// certificate. Served by GET /receipt (http.ts) and by the `receipt` MQTT request (meterseal/v1/ledger/receipt,
// JSON {"meterId","seq"}), so an agent can check its inclusion promises. Each receipt also carries the meter's
// key-status section (receipt-key-status.ts) so that a verifier can prove the key was bound and not revoked.
import { buildReceipt, utf8, type Receipt } from '@meterseal/protocol';
import { z } from 'zod';
import { quorumCheckpoint } from './cosignature-store.js';
import { Rejection, describe } from './errors.js';
import type { Handler, LedgerDeps } from './handlers/context.js';
import { closedAnchorsOf } from './period-store.js';
import { keyStatusFor } from './receipt-key-status.js';

export type ReceiptDeps = Pick<LedgerDeps, 'store' | 'log' | 'config'> & Partial<Pick<LedgerDeps, 'logger'>>;

/** The checkpoint a receipt for leaf `leafIndex` is proven against, with the witnesses' lines. */
export function receiptCheckpoint(d: ReceiptDeps, leafIndex: bigint): { size: bigint; note: string } {
  const { witnessQuorum, witnesses } = d.config;
  const vkeys = witnesses.map((w) => w.verifierKey);
  if (witnessQuorum === 0) {
    const cp = d.log.checkpointNow();
    const lines = new Map(d.store.getCosignatures(cp.size).map((c) => [c.witness, c.lines]));
    return { size: cp.size, note: cp.note + vkeys.map((k) => lines.get(k) ?? '').join('') };
  }
  const cp = quorumCheckpoint(d.store, vkeys, witnessQuorum, leafIndex);
  if (!cp) {
    throw new Rejection('NOT_YET_COSIGNED', `no checkpoint covering leaf ${leafIndex} has cosignatures from ${witnessQuorum} configured witnesses yet`);
  }
  return cp;
}

/**
 * Builds the receipt of (meterId, seq); throws a Rejection NOT_ANCHORED / NOT_YET_COSIGNED. A ledger that
 * rotates its log by period answers for an anchor of a closed period when the current log has none (newest
 * closed period first), against that log's final (or quorum-cosigned) checkpoint — unless `closedPeriods` is
 * false (GET /period/<id>/receipt asks one log).
 */
export function receiptFor(d: ReceiptDeps, meterId: string, seq: bigint, o: { closedPeriods?: boolean } = {}): Receipt {
  const anchor = d.store.getAnchor(meterId, seq);
  if (!anchor) {
    const closed = o.closedPeriods === false ? undefined : closedAnchorsOf(d.store)?.find(meterId, seq);
    if (closed) return receiptFor({ store: closed.store, log: closed.log, config: d.config }, meterId, seq, { closedPeriods: false });
    throw new Rejection('NOT_ANCHORED', `meter ${meterId} has no anchor with seq ${seq} in the log`);
  }
  const binding = d.store.getBinding(meterId, anchor.keyId);
  const meter = d.store.getMeter(meterId);
  if (!binding || !meter) throw new Rejection('INTERNAL', `the binding or registration of anchored ${meterId} seq ${seq} is missing`);
  const cp = receiptCheckpoint(d, anchor.leafIndex);
  const entry = (i: bigint): Uint8Array => {
    const e = d.log.entry(i);
    if (!e) throw new Rejection('INTERNAL', `log entry ${i} is missing`);
    return e;
  };
  const keyStatus = keyStatusFor(d, meterId, cp);
  return buildReceipt({
    meterId,
    seq,
    anchorEntry: entry(anchor.leafIndex),
    anchorProof: { index: anchor.leafIndex, proof: d.log.inclusionProof(anchor.leafIndex, cp.size), checkpoint: cp.note }, // RFC 9162 §2.1.3.1
    bindingEntry: entry(binding.leafIndex),
    bindingProof: { index: binding.leafIndex, proof: d.log.inclusionProof(binding.leafIndex, cp.size), checkpoint: cp.note },
    certificate: meter.certificate,
    certificateSignature: meter.certificateSignature,
    // §10.5.1: the meter's key events under the same checkpoint, proven against its meterseal-index/v1 root
    ...(keyStatus ? { keyStatus } : {}),
  });
}

const ReceiptRequest = z.strictObject({
  meterId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a meter id (1..64 characters of A-Z a-z 0-9 . _ -)'),
  // zod 4 runs the refinement even when the regex failed: BigInt() only on digits (found by mqtt-payload.fuzz.test.ts)
  seq: z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'a decimal u64').refine((s) => !/^[0-9]+$/.test(s) || BigInt(s) < 1n << 64n, 'a decimal u64'),
});

/** meterseal/v1/ledger/receipt: JSON {"meterId","seq"} → {receipt}. `ref` is "receipt:<seq>". */
export const handleReceipt: Handler = (ctx, payload, deps) => {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(payload));
  } catch (cause) {
    throw new Rejection('MALFORMED', `receipt request is not UTF-8 JSON: ${describe(cause)}`, { cause });
  }
  const r = ReceiptRequest.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Rejection('MALFORMED', `receipt request: ${i.path.join('.') || '(top level)'}: ${i.message}`);
  }
  ctx.meterId = r.data.meterId;
  ctx.ref = `receipt:${r.data.seq}`;
  return { receipt: receiptFor(deps, r.data.meterId, BigInt(r.data.seq)) };
};

/** Best effort before checking: who to answer (meterId) and the ref, from the JSON request. */
export function peekReceipt(ctx: { meterId?: string; ref: string }, payload: Uint8Array): void {
  try {
    const j = JSON.parse(utf8.decode(payload)) as { meterId?: unknown; seq?: unknown };
    if (typeof j.meterId === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(j.meterId)) ctx.meterId = j.meterId;
    if (typeof j.seq === 'string' && /^[0-9]{1,20}$/.test(j.seq)) ctx.ref = `receipt:${j.seq}`;
  } catch {
    // not JSON: answered as MALFORMED if a meter id can be found, else dropped
  }
}

/** The trust file for this ledger (protocol TrustFileSchema): origin, ledger vkey, witness vkeys, quorum. */
export function trustFile(config: Pick<LedgerDeps['config'], 'origin' | 'witnesses' | 'witnessQuorum'>, ledgerVerifierKey: string): Record<string, unknown> {
  return {
    format: 'meterseal-trust/v1',
    origin: config.origin,
    ledgerVerifierKey,
    witnesses: config.witnesses.map((w) => w.verifierKey),
    quorum: config.witnessQuorum,
  };
}
