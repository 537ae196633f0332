// meterseal/v1/ledger/anchor/<meterId> (docs/protocol.md §4, §9): a signed Anchor — the hot path, taken in
// groups by anchor-ingest.ts. The session key is found by (meter, key id) and must cover the seq; the
// signature is checked with native crypto. The same anchor again maps to the same leaf (duplicate: true); a
// different, validly signed anchor for a used (meter, seq) is a CONFLICT — also when the (meter, seq) was
// anchored in a closed period of a ledger that rotates its log (period-closed-anchors.ts): the duplicate's
// answer then names that period's leaf and log origin. The rules are applied in the order
// one anchor at a time would apply them, in three steps:
//   parseAnchor   — the topic and the bytes alone, at arrival;
//   prepareAnchor — what the meter's registration and bindings say (they cannot change while a group of
//                   anchors is decided: other requests are ordered before or after the whole group);
//   decideAnchor  — after the signature check, against the log and the anchors earlier in the same group.
// The answer is built only after the group's transaction has committed.
import {
  LedgerTopics, METER_ID_PATTERN, bytesEqual, decodeAnchor, encodeSigned, signingMessage, toHex, type Anchor,
} from '@meterseal/protocol';
import { Rejection } from '../errors.js';
import { revocationOf } from '../revocation.js';
import { closedAnchorsOf } from '../period-store.js';
import { PromiseSigner } from '../promise.js';
import type { AnchorRow, BindingRow } from '../store.js';
import { decodeSigned, type LedgerDeps, type RequestContext } from './context.js';

/** The meter id in meterseal/v1/ledger/anchor/<meterId>, if it is one. */
export function anchorTopicMeterId(topic: string): string | undefined {
  const id = topic.slice(LedgerTopics.anchorPrefix.length);
  return topic.startsWith(LedgerTopics.anchorPrefix) && METER_ID_PATTERN.test(id) ? id : undefined;
}

export interface ParsedAnchor {
  anchor: Anchor;
  record: Uint8Array;
  signature: Uint8Array;
  /** The log entry: record ‖ signature. */
  signed: Uint8Array;
}

/** Step 1, stateless. Throws a Rejection (MALFORMED, TOPIC_MISMATCH). */
export function parseAnchor(ctx: RequestContext, payload: Uint8Array): ParsedAnchor {
  const topicMeterId = anchorTopicMeterId(ctx.topic);
  if (topicMeterId === undefined) {
    throw new Rejection('MALFORMED', `topic ${JSON.stringify(ctx.topic.slice(0, 120))} does not end in a meter id`);
  }
  const { record, signature, value: a } = decodeSigned(payload, decodeAnchor, 'Anchor');
  ctx.ref = a.seq.toString();
  if (a.meterId !== topicMeterId) {
    throw new Rejection('TOPIC_MISMATCH', `the anchor is for meter ${a.meterId} but was published on ${topicMeterId}'s topic`);
  }
  return { anchor: a, record, signature, signed: encodeSigned(record, signature) };
}

export interface PreparedAnchor extends ParsedAnchor {
  /** UNKNOWN_METER: decided before anything else. */
  meterRefusal?: Rejection;
  /** NO_SESSION_KEY or SEQ_OUTSIDE_BINDING: decided after the duplicate check. */
  keyRefusal?: Rejection;
  /** The session key to verify with (absent when there is nothing to verify). */
  publicKey?: Uint8Array;
  /** What signingMessage(record) is; verified against publicKey. */
  message?: Uint8Array;
  /** The log's row for (meter, seq) when prepared, if any (rows never change once committed). */
  committed?: AnchorRow;
  /** True when `committed` holds exactly these bytes: a duplicate, no signature check needed. */
  committedSame?: boolean;
  /** When `committed` is a closed period's row: that period and its log origin ("<origin>/<period>"). */
  committedIn?: { period: string; origin: string; store: Pick<LedgerDeps['store'], 'getBinding' | 'nextBinding'> };
}

/** Per-group memo of the state reads that many anchors of one meter share. */
export class PrepareMemo {
  private readonly meters = new Map<string, boolean>();
  private readonly bindings = new Map<string, { binding?: BindingRow; next?: BindingRow }>();
  private readonly revocations = new Map<string, Rejection | undefined>();
  constructor(private readonly deps: LedgerDeps) {}

  /** Issue 5: REVOKED when an operator revoked the meter's current identity key (revocation.ts). */
  revoked(meterId: string): Rejection | undefined {
    if (!this.revocations.has(meterId)) {
      const m = this.deps.store.getMeter(meterId);
      const r = m && revocationOf(this.deps.store, m);
      this.revocations.set(meterId, r && new Rejection('REVOKED', `meter ${meterId} was revoked at leaf ${r.leafIndex}: ${r.detail}`, { fields: { reason: 'revoked' } }));
    }
    return this.revocations.get(meterId);
  }

  registered(meterId: string): boolean {
    let r = this.meters.get(meterId);
    if (r === undefined) this.meters.set(meterId, (r = this.deps.store.getMeter(meterId) !== undefined));
    return r;
  }

  binding(meterId: string, keyId: Uint8Array): { binding?: BindingRow; next?: BindingRow } {
    const k = `${meterId}/${toHex(keyId)}`;
    let b = this.bindings.get(k);
    if (!b) {
      const binding = this.deps.store.getBinding(meterId, keyId);
      const next = binding && this.deps.store.nextBinding(meterId, binding);
      this.bindings.set(k, (b = { ...(binding ? { binding } : {}), ...(next ? { next } : {}) }));
    }
    return b;
  }
}

/** Step 2: the registration, the committed row and the binding. Throws only on a storage fault. */
export function prepareAnchor(p: ParsedAnchor, deps: LedgerDeps, memo: PrepareMemo): PreparedAnchor {
  const a = p.anchor;
  const out: PreparedAnchor = { ...p };
  if (!memo.registered(a.meterId)) {
    out.meterRefusal = new Rejection('UNKNOWN_METER', `meter ${a.meterId} is not registered`);
    return out;
  }
  out.meterRefusal = memo.revoked(a.meterId);
  if (out.meterRefusal) return out;
  if (findCommitted(out, deps)) return out;
  // a different anchor for a seq of a closed period is judged by that period's bindings (the current log carries
  // only the latest one): signed by the key that covered the seq there, it is a CONFLICT, not NO_SESSION_KEY
  const closedStore = out.committedIn?.store;
  const closedBinding = closedStore?.getBinding(a.meterId, a.keyId);
  const { binding, next } = closedStore
    ? { binding: closedBinding, next: closedBinding && closedStore.nextBinding(a.meterId, closedBinding) }
    : memo.binding(a.meterId, a.keyId);
  if (!binding) {
    out.keyRefusal = new Rejection('NO_SESSION_KEY', `no session key with key id ${toHex(a.keyId)} is bound for meter ${a.meterId}`);
  } else if (a.seq < binding.firstSeq || (next && a.seq >= next.firstSeq)) {
    const upTo = next ? `${next.firstSeq}` : '∞';
    out.keyRefusal = new Rejection('SEQ_OUTSIDE_BINDING', `seq ${a.seq} is outside [${binding.firstSeq}, ${upTo}), the seqs session key ${toHex(a.keyId)} covers`);
  } else {
    out.publicKey = binding.sessionPublicKey;
    out.message = signingMessage(p.record);
  }
  return out;
}

/**
 * Looks up the committed row of (meter, seq): the current log's, else (rotation by period) a closed period's —
 * a query only when seq is at or below the meter's cached highest closed-period seq. Sets `committed`,
 * `committedSame` and `committedIn` on `p`; true when it is a duplicate (same bytes). Also used again at commit
 * time by a group prepared before an earlier group committed (anchor-ingest.ts).
 */
export function findCommitted(p: PreparedAnchor, deps: Pick<LedgerDeps, 'store' | 'log'>): boolean {
  const a = p.anchor;
  const committed = deps.store.getAnchor(a.meterId, a.seq);
  if (committed) {
    p.committed = committed;
    const prev = deps.log.entry(committed.leafIndex);
    p.committedSame = prev !== undefined && bytesEqual(prev, p.signed);
    delete p.committedIn;
    return p.committedSame;
  }
  const closed = closedAnchorsOf(deps.store)?.find(a.meterId, a.seq);
  if (closed) {
    p.committed = closed.row;
    p.committedSame = closed.entry !== undefined && bytesEqual(closed.entry, p.signed);
    p.committedIn = { period: closed.period, origin: closed.origin, store: closed.store };
    return p.committedSame;
  }
  return false;
}

/** An anchor appended earlier in the same group (not committed yet). */
export interface GroupAnchor {
  leafIndex: bigint;
  readingHash: Uint8Array;
  signed: Uint8Array;
}

export type AnchorDecision =
  | { kind: 'duplicate'; leafIndex: bigint; /** of an anchor earlier in this group */ pending: boolean }
  | { kind: 'append' };

/**
 * Step 3, in arrival order. `existing` is the (meter, seq) already in the log or earlier in this group;
 * `verified` the signature check. Throws the Rejection a lone anchor would have got.
 */
export function decideAnchor(p: PreparedAnchor, existing: AnchorRow | GroupAnchor | undefined, verified: boolean, existingSame: boolean): AnchorDecision {
  const a = p.anchor;
  if (p.meterRefusal) throw p.meterRefusal;
  if (existing && existingSame) return { kind: 'duplicate', leafIndex: existing.leafIndex, pending: 'signed' in existing };
  if (p.keyRefusal) throw p.keyRefusal;
  if (!verified) throw new Rejection('BAD_SIGNATURE', `anchor seq ${a.seq} is not signed by session key ${toHex(a.keyId)}`);
  if (existing) {
    const where = existing === p.committed && p.committedIn ? ` of the closed period ${p.committedIn.period} (log ${p.committedIn.origin})` : '';
    throw new Rejection(
      'CONFLICT',
      `meter ${a.meterId} seq ${a.seq} is already anchored at leaf ${existing.leafIndex}${where} with reading hash ` +
        `${toHex(existing.readingHash)}; refused a validly signed different anchor with reading hash ${toHex(a.readingHash)}`,
    );
  }
  return { kind: 'append' };
}

const signers = new WeakMap<LedgerDeps['keys'], PromiseSigner>();

function promiseSigner(deps: LedgerDeps): PromiseSigner {
  let s = signers.get(deps.keys);
  if (!s) signers.set(deps.keys, (s = new PromiseSigner(deps.keys.secretKey, deps.config.origin, deps.config.maxMergeDelayMs)));
  return s;
}

/**
 * The success fields of an anchor answer (docs/protocol.md §9, AnchorAck), with the signed inclusion promise
 * (§10.4) when the anchor and the ledger's parts are given. Called while its group is decided; the answer
 * leaves only after the group's commit (anchor-ingest.ts). A duplicate gets the same leaf index and an
 * equivalent promise (same anchor hash and leaf, a fresh issue time and deadline). A duplicate of an anchor in
 * a closed period (rotation by period) names that period: `period` and `logOrigin` ("<origin>/<period>") in
 * the answer, and the promise's logOrigin is that log's origin, so the leaf index is unambiguous and the
 * receipt (GET /receipt falls back to closed periods) is proven against that log's checkpoint.
 */
export function anchorFields(seq: bigint, leafIndex: bigint, duplicate: boolean, p?: ParsedAnchor | PreparedAnchor, deps?: LedgerDeps): Record<string, unknown> {
  const fields: Record<string, unknown> = { seq: seq.toString(), leafIndex: leafIndex.toString(), duplicate };
  const closed = duplicate && p && 'committedIn' in p && p.committedIn && p.committed?.leafIndex === leafIndex ? p.committedIn : undefined;
  if (closed) {
    fields.period = closed.period;
    fields.logOrigin = closed.origin;
  }
  if (p && deps) {
    const signer = promiseSigner(deps);
    const a = p.anchor;
    const subject = { meterId: a.meterId, seq: a.seq, readingHash: a.readingHash, signed: p.signed };
    fields.promise = signer.signHex(signer.promise(subject, leafIndex, closed?.origin));
  }
  return fields;
}
