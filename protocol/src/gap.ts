// Gap record v1 (docs/protocol.md §12): "sequences X-Y of meter M are missing, because R". A gap takes the
// sequence numbers it explains, so every seq of a meter is either a reading or part of an explained gap. It is
// signed and anchored exactly like a reading: the anchor at seq X carries SHA-256 of the gap record, signed by
// the session key that covers X. It travels in a Delivery (whose record field then holds a Gap, type 0x12) to
// the collector, and in the same Delivery on meterseal/v1/ledger/gap/<meterId> to the ledger, which can read
// it (a gap reveals no consumption) and anchors it.
import { Reader, Writer } from './codec.js';
import { ProtocolError } from './errors.js';
import { sha256 } from './hash.js';
import { KEY_ID_LENGTH } from './ed25519.js';
import { assertMeterId } from './meter-id.js';
import { RecordType, VERSION_1 } from './record-types.js';
import { encodeAnchor, type Anchor } from './anchor.js';
import { decodeDeliveryFrame, encodeDelivery } from './delivery.js';
import { signRecord } from './signed.js';

/** Why the sequences are missing (docs/protocol.md §12.1). Never reuse a number. */
export const GapReason = {
  SerialFailure: 1, // the meter did not answer or the port failed
  PowerLoss: 2, // the agent or gateway was off for whole intervals
  DiskFull: 3, // the outbox reached its disk cap; polling stopped rather than dropping readings
  BusTimeout: 4, // the multi-drop bus was busy past the interval (gateway)
} as const;
export type GapReasonCode = (typeof GapReason)[keyof typeof GapReason];
const REASON_NAMES = new Map<number, string>(Object.entries(GapReason).map(([k, v]) => [v, k]));

export function gapReasonName(code: number): string {
  const n = REASON_NAMES.get(code);
  if (n === undefined) throw new ProtocolError('BAD_GAP', `unknown gap reason ${code}`);
  return n;
}

/** At most this many seqs in one gap record (a year of 1-minute intervals); a larger gap is split. */
export const MAX_GAP_SPAN = 1_000_000n;

export interface Gap {
  meterId: string;
  /** First missing seq; the gap record itself is anchored at this seq. */
  firstSeq: bigint;
  /** Last missing seq (>= firstSeq). */
  lastSeq: bigint;
  /** The interval without readings (UTC epoch ms), fromMs <= toMs. */
  fromMs: bigint;
  toMs: bigint;
  reason: GapReasonCode;
  /** "" when the meter's own agent signed it; else the id of the gateway that holds the meter's keys. */
  signer: string;
}

function check(g: Gap): void {
  assertMeterId(g.meterId);
  if (g.firstSeq < 1n) throw new ProtocolError('BAD_GAP', 'gap firstSeq must be >= 1 (seqs start at 1)');
  if (g.lastSeq < g.firstSeq) throw new ProtocolError('BAD_GAP', `gap lastSeq ${g.lastSeq} is before firstSeq ${g.firstSeq}`);
  if (g.lastSeq - g.firstSeq + 1n > MAX_GAP_SPAN) throw new ProtocolError('BAD_GAP', `a gap spans at most ${MAX_GAP_SPAN} seqs`);
  if (g.toMs < g.fromMs) throw new ProtocolError('BAD_GAP', 'gap toMs is before fromMs');
  gapReasonName(g.reason);
  if (g.signer !== '') assertMeterId(g.signer); // gateway ids follow the meter id alphabet
}

export function encodeGap(g: Gap): Uint8Array {
  check(g);
  return new Writer()
    .u8(RecordType.Gap).u8(VERSION_1)
    .str8(g.meterId).u64(g.firstSeq).u64(g.lastSeq).i64(g.fromMs).i64(g.toMs).u8(g.reason).str8(g.signer)
    .finish();
}

/** Pure parser of outside bytes: throws ProtocolError (TRUNCATED, WRONG_TYPE, BAD_VERSION, BAD_GAP, TRAILING_BYTES). */
export function decodeGap(bytes: Uint8Array): Gap {
  const rd = new Reader(bytes, 'gap');
  const type = rd.u8('type');
  if (type !== RecordType.Gap) throw new ProtocolError('WRONG_TYPE', `not a gap record (type 0x${type.toString(16)})`);
  const version = rd.u8('version');
  if (version !== VERSION_1) throw new ProtocolError('BAD_VERSION', `unsupported gap version ${version}`);
  const g: Gap = {
    meterId: rd.str8('meterId'),
    firstSeq: rd.u64('firstSeq'),
    lastSeq: rd.u64('lastSeq'),
    fromMs: rd.i64('fromMs'),
    toMs: rd.i64('toMs'),
    reason: rd.u8('reason') as GapReasonCode,
    signer: rd.str8('signer'),
  };
  rd.end();
  check(g);
  return g;
}

/** The anchor that stands for a gap in the ledger: seq = firstSeq, readingHash = SHA-256(gap record). */
export function anchorOfGap(encodedGap: Uint8Array, gap: Gap, keyId: Uint8Array): Anchor {
  return { meterId: gap.meterId, seq: gap.firstSeq, keyId, readingHash: sha256(encodedGap) };
}

/**
 * Signs a gap with a session key and returns the one payload both interfaces carry: a Delivery whose record
 * is the gap and whose signature is over the gap's anchor (the same rule as a reading's Delivery, §8).
 */
export function signGap(gap: Gap, session: { keyId: Uint8Array; secretKey: Uint8Array }): Uint8Array {
  const record = encodeGap(gap);
  const signature = signRecord(encodeAnchor(anchorOfGap(record, gap, session.keyId)), session.secretKey);
  return encodeDelivery({ keyId: session.keyId, reading: record, signature });
}

export interface GapDelivery {
  keyId: Uint8Array;
  /** The gap record bytes exactly as signed. */
  record: Uint8Array;
  signature: Uint8Array;
  gap: Gap;
  /** The anchor bytes the signature must verify over (encodeAnchor(anchorOfGap(...))). */
  anchor: Uint8Array;
}

// Delivery layout (§8): type, version, keyId[8], u16 length, record, signature[64] (and an optional signer trailer).
const RECORD_OFFSET = 2 + KEY_ID_LENGTH + 2;

/** True when a Delivery carries a gap record rather than a reading (looks at two type bytes only). */
export function isGapDelivery(bytes: Uint8Array): boolean {
  return bytes.length > RECORD_OFFSET && bytes[0] === RecordType.Delivery && bytes[RECORD_OFFSET] === RecordType.Gap;
}

/** Pure parser of a Delivery that carries a gap. Throws ProtocolError. The signature is not checked here. */
export function decodeGapDelivery(bytes: Uint8Array): GapDelivery {
  const { keyId, record, signature } = decodeDeliveryFrame(bytes);
  const gap = decodeGap(record);
  return { keyId, record, signature, gap, anchor: encodeAnchor(anchorOfGap(record, gap, keyId)) };
}

/** Interface 1 topic for gaps (docs/protocol.md §9, §12): the ledger answers with op "anchor" and ref = firstSeq. */
export const GAP_TOPIC_PREFIX = 'meterseal/v1/ledger/gap/';
export const GAP_TOPIC_FILTER = `${GAP_TOPIC_PREFIX}+`;
export function gapTopic(meterId: string): string {
  assertMeterId(meterId);
  return `${GAP_TOPIC_PREFIX}${meterId}`;
}
