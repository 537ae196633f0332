// Offline verification of a reading against a receipt and a trust file (docs/protocol.md §10.6): no network.
// `checkReading` runs every check it can and reports each by name (what `meterseal verify` prints):
//   checkpoint-signature  the receipt's checkpoint is signed by the trusted ledger key, for the trusted origin,
//                         and every proof in the receipt names that same checkpoint (c2sp.org/signed-note)
//   witness-quorum        at least `quorum` distinct trusted witnesses cosigned it (c2sp.org/tlog-cosignature)
//   signature             the ledger certified the meter's identity key; that key signed the session-key
//                         binding; the bound session key signed the reading's anchor
//   inclusion             the receipt's anchor entry is exactly that signed anchor, and it and the binding are
//                         in the log under the checkpoint (RFC 9162 §2.1.3.2)
//   index-proof           the key-status section (key-status.ts): the meter's index leaf is in the index the
//                         checkpoint commits (meterseal-index/v1) and the listed key events are all of its events
//   key-bound             the binding is for the reading's key id and covers its seq: firstSeq ≤ seq, logged
//                         before the anchor, and no other binding logged before the anchor took over the seq
//                         (judged by seq and log order only, never by clocks)
//   key-not-revoked       no revocation of the certified identity key is logged before the reading's anchor
// A check is `pass`, `fail`, or `unproven` (index-proof, key-bound, key-not-revoked on a receipt without the
// key-status section). `verifyReading` is the older throwing API: the first failure as a ReceiptCheckError
// with its detailed check name (unproven is not a failure there).
import { bytesEqual, toHex } from './bytes.js';
import { decodeKeyBinding, type KeyBinding } from './binding.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { countWitnesses } from './cosignature.js';
import { anchorBytesOfReading, decodeDelivery } from './delivery.js';
import { keyId } from './ed25519.js';
import { ProtocolError } from './errors.js';
import { decodeIdentityCertificate, type IdentityCertificate } from './identity.js';
import { keyEventText, parseKeyStatus, verifyKeyStatus } from './key-status.js';
import { leafHash, verifyInclusion } from './merkle/index.js';
import { sameLedgerOrigin } from './previous-log.js';
import type { KeyEvent } from './meter-index.js';
import { parseReceipt, type ReceiptParts, type TlogProof } from './receipt.js';
import type { Revocation } from './revocation.js';
import { encodeSigned, splitSigned, verifyRecord } from './signed.js';
import type { Trust } from './trust-file.js';

export { TrustFileSchema, parseTrustFile, type Trust, type TrustFile } from './trust-file.js';

/** The detailed names of ReceiptCheckError (older API; each belongs to one VerifyCheckName). */
export type ReceiptCheck =
  | 'input' | 'checkpoint' | 'quorum' | 'certificate' | 'binding' | 'binding-inclusion'
  | 'reading' | 'anchor' | 'anchor-inclusion' | 'index-proof' | 'revocation';

export class ReceiptCheckError extends ProtocolError {
  constructor(readonly check: ReceiptCheck, message: string, options?: { cause?: unknown }) {
    super(`CHECK_${check.toUpperCase().replaceAll('-', '_')}`, `${check}: ${message}`, options);
    this.name = 'ReceiptCheckError';
  }
}

export type VerifyCheckName = 'checkpoint-signature' | 'witness-quorum' | 'signature' | 'inclusion' | 'index-proof' | 'key-bound' | 'key-not-revoked';
/** The checks in the order they are reported. */
export const VERIFY_CHECKS: readonly VerifyCheckName[] = ['checkpoint-signature', 'witness-quorum', 'signature', 'inclusion', 'index-proof', 'key-bound', 'key-not-revoked'];

export type CheckStatus = 'pass' | 'fail' | 'unproven';
export interface CheckResult {
  name: VerifyCheckName;
  status: CheckStatus;
  /** Why it failed or is unproven (the first reason). */
  reason?: string;
  /** For a pass: something worth saying (e.g. the key was revoked, but only after the reading). */
  note?: string;
}

/**
 * Non-revocation hook (older API): given the meter, the session key id and the seq, return a reason string if
 * the key must be treated as revoked for that seq. The key-status section now proves this from the receipt.
 */
export type RevocationCheck = (q: { meterId: string; keyId: Uint8Array; seq: bigint; checkpoint: Checkpoint }) => string | undefined;

export interface VerifyReadingInput {
  /** The Delivery record (interface 2 payload): reading, key id, signature. */
  delivery: Uint8Array;
  receipt: ReceiptParts | unknown;
  trust: Trust;
  checkRevocation?: RevocationCheck;
}

export interface VerifiedReading {
  meterId: string;
  seq: bigint;
  leafIndex: bigint;
  checkpoint: Checkpoint;
  /** Distinct trusted witnesses that cosigned the checkpoint. */
  witnesses: number;
  bindingFirstSeq: bigint;
  /** 'proven': the key-status section verified; 'absent': the receipt has none (key status NOT proven). */
  keyStatus: 'proven' | 'absent';
}

export interface ReadingReport {
  /** The inputs could not be read or do not belong together: no check ran. */
  input?: ReceiptCheckError;
  checks: CheckResult[];
  /** Every check passed. */
  ok: boolean;
  /** No check failed (some may be unproven). */
  noFailure: boolean;
  /** Set when no check failed. */
  reading?: VerifiedReading;
}

interface Finding {
  legacy: ReceiptCheck;
  name: VerifyCheckName;
  status: 'fail' | 'unproven';
  reason: string;
  cause?: unknown;
}

interface Evaluation {
  findings: Finding[];
  notes: Map<VerifyCheckName, string>;
  verified: Omit<VerifiedReading, 'checkpoint'> & { checkpoint?: Checkpoint };
}

function included(entry: Uint8Array, p: TlogProof, cp: Checkpoint): boolean {
  return verifyInclusion(leafHash(entry), p.index, cp.size, p.proof, cp.root); // RFC 9162 §2.1.3.2
}

const untrusted = 'not checked: the checkpoint signature did not verify';

function evaluate(input: VerifyReadingInput): Evaluation {
  const { trust } = input;
  let receipt: ReceiptParts;
  let d: ReturnType<typeof decodeDelivery>;
  try {
    receipt = input.receipt && typeof input.receipt === 'object' && 'anchorProof' in input.receipt && typeof (input.receipt as ReceiptParts).anchorProof === 'object'
      ? (input.receipt as ReceiptParts) : parseReceipt(input.receipt);
    d = decodeDelivery(input.delivery);
  } catch (err) {
    throw new ReceiptCheckError('input', (err as Error).message, { cause: err });
  }
  const reading = d.decoded;
  if (receipt.meterId !== reading.meterId || receipt.seq !== reading.seq) {
    throw new ReceiptCheckError('input', `the receipt is for ${receipt.meterId} seq ${receipt.seq}, the reading is ${reading.meterId} seq ${reading.seq}`);
  }
  const findings: Finding[] = [];
  const notes = new Map<VerifyCheckName, string>();
  const fail = (legacy: ReceiptCheck, name: VerifyCheckName, reason: string, cause?: unknown): void => {
    findings.push({ legacy, name, status: 'fail', reason, ...(cause === undefined ? {} : { cause }) });
  };
  const unproven = (name: VerifyCheckName, reason: string): void => void findings.push({ legacy: 'revocation', name, status: 'unproven', reason });
  const failed = (name: VerifyCheckName): boolean => findings.some((f) => f.name === name && f.status === 'fail');
  const note = receipt.anchorProof.checkpoint;
  const anchorLeaf = receipt.anchorProof.index;
  const bindingLeaf = receipt.bindingProof.index;

  // checkpoint-signature: c2sp.org/signed-note by the trusted ledger key; every proof against this one note
  let cp: Checkpoint | undefined;
  if (receipt.bindingProof.checkpoint !== note) fail('checkpoint', 'checkpoint-signature', 'the anchor and binding proofs name different checkpoints');
  else {
    try {
      cp = openCheckpoint(note, trust.ledger);
      // the trusted origin, or one of its period logs "<origin>/<period>" (docs/ledger.md, log rotation by period)
      if (!sameLedgerOrigin(trust.origin, cp.origin)) {
        throw new ProtocolError('WRONG_ORIGIN', `checkpoint origin "${cp.origin}" is neither "${trust.origin}" nor one of its period logs`);
      }
    } catch (err) {
      fail('checkpoint', 'checkpoint-signature', (err as Error).message, err);
    }
  }
  // witness-quorum: c2sp.org/tlog-cosignature, distinct witnesses by public key
  let witnesses = 0;
  try {
    witnesses = trust.witnesses.length === 0 ? 0 : countWitnesses(note, trust.witnesses);
  } catch (err) {
    fail('quorum', 'witness-quorum', (err as Error).message, err);
  }
  if (witnesses < trust.quorum) fail('quorum', 'witness-quorum', `${witnesses} of the trusted witnesses cosigned the checkpoint (size ${cp?.size ?? 'unverified'}); the quorum is ${trust.quorum}`);

  // signature 1: the identity certificate, signed by the ledger key
  let cert: IdentityCertificate | undefined;
  try {
    cert = decodeIdentityCertificate(receipt.certificate);
  } catch (err) {
    fail('certificate', 'signature', (err as Error).message, err);
  }
  if (cert) {
    if (!verifyRecord(receipt.certificate, receipt.certificateSignature, trust.ledger.publicKey)) fail('certificate', 'signature', 'the identity certificate is not signed by the ledger key');
    if (cert.meterId !== reading.meterId) fail('certificate', 'signature', `the certificate is for meter ${cert.meterId}, not ${reading.meterId}`);
    if (cert.logOrigin !== trust.origin) fail('certificate', 'signature', `the certificate names log ${cert.logOrigin}, not ${trust.origin}`);
  }
  // signature 2 and key-bound: the binding, signed by the certified identity key, for this key id and seq
  let bind: (ReturnType<typeof splitSigned> & { b: KeyBinding }) | undefined;
  try {
    const s = splitSigned(receipt.bindingEntry);
    bind = { ...s, b: decodeKeyBinding(s.record) };
  } catch (err) {
    fail('binding', 'signature', (err as Error).message, err);
  }
  if (bind) {
    if (bind.b.meterId !== reading.meterId) fail('binding', 'key-bound', `the binding is for meter ${bind.b.meterId}`);
    if (!cert) fail('binding', 'signature', 'the key binding cannot be checked without a valid identity certificate');
    else if (!bytesEqual(bind.b.identityKeyId, keyId(cert.identityPublicKey)) || !verifyRecord(bind.record, bind.signature, cert.identityPublicKey)) {
      fail('binding', 'signature', "the key binding is not signed by the meter's certified identity key");
    }
    if (!bytesEqual(keyId(bind.b.sessionPublicKey), d.keyId)) fail('binding', 'key-bound', `the binding is for session key ${toHex(keyId(bind.b.sessionPublicKey))}, the reading names ${toHex(d.keyId)}`);
    if (bind.b.firstSeq > reading.seq) fail('binding', 'key-bound', `seq ${reading.seq} is outside the binding, which covers seqs from ${bind.b.firstSeq}`);
    if (bindingLeaf >= anchorLeaf) fail('binding', 'key-bound', `the binding (log index ${bindingLeaf}) is not logged before the reading's anchor (log index ${anchorLeaf})`);
  } else fail('binding', 'key-bound', 'not checked: the receipt has no valid key binding');
  if (!cp) fail('binding-inclusion', 'inclusion', untrusted);
  else if (!included(receipt.bindingEntry, receipt.bindingProof, cp)) fail('binding-inclusion', 'inclusion', `the binding's inclusion proof (index ${bindingLeaf}) does not lead to the checkpoint root at size ${cp.size}`);

  // signature 3: the reading's signature, over the anchor the reading implies, with the bound session key
  const anchor = anchorBytesOfReading(d.reading, reading, d.keyId);
  if (!bind) fail('reading', 'signature', 'not checked: the receipt has no valid key binding');
  else if (!verifyRecord(anchor, d.signature, bind.b.sessionPublicKey)) fail('reading', 'signature', `the reading's signature does not verify with session key ${toHex(d.keyId)}`);
  // inclusion: the anchor entry is exactly this signed anchor, and it is in the log
  if (!bytesEqual(receipt.anchorEntry, encodeSigned(anchor, d.signature))) fail('anchor', 'inclusion', "the receipt's anchor entry is not this reading's signed anchor");
  if (!cp) fail('anchor-inclusion', 'inclusion', untrusted);
  else if (!included(receipt.anchorEntry, receipt.anchorProof, cp)) fail('anchor-inclusion', 'inclusion', `the anchor's inclusion proof (index ${anchorLeaf}) does not lead to the checkpoint root at size ${cp.size}`);

  // index-proof: the key-status section against the index the checkpoint commits (key-status.ts)
  let events: KeyEvent[] | undefined;
  let reasons = new Map<bigint, Revocation>();
  const absent = receipt.keyStatus === undefined;
  const NOT_PROVEN = 'key status NOT proven: the receipt has no key-status section (a receipt from a ledger before §10.5.1)';
  if (absent) unproven('index-proof', NOT_PROVEN);
  else if (!cp) fail('index-proof', 'index-proof', untrusted);
  else {
    try {
      ({ events, reasons } = verifyKeyStatus(parseKeyStatus(receipt.keyStatus), reading.meterId, cp, note));
    } catch (err) {
      fail('index-proof', 'index-proof', (err as Error).message, err);
    }
  }

  // key-bound in log order: the index lists this binding, and no other binding before the anchor took over the seq
  if (bind && !failed('key-bound')) {
    if (!events) {
      if (absent) unproven('key-bound', `${NOT_PROVEN}; that no later binding ended the key's range before seq ${reading.seq} is not shown`);
      else fail('binding', 'key-bound', 'not checked: the index proof failed');
    } else {
      const mine = events.find((e) => e.kind === 'binding' && e.leafIndex === bindingLeaf);
      if (mine?.kind !== 'binding' || !bytesEqual(mine.keyId, d.keyId) || !bytesEqual(mine.sessionPublicKey, bind.b.sessionPublicKey) || mine.firstSeq !== bind.b.firstSeq) {
        fail('binding', 'key-bound', `the per-meter index lists no binding of key ${toHex(d.keyId)} from seq ${bind.b.firstSeq} at log index ${bindingLeaf}`);
      } else {
        // docs/protocol.md §7: a binding covers seqs from firstSeq until the next binding (in (firstSeq, log index) order)
        const later = events.find((e) => e.kind === 'binding' && e !== mine && e.leafIndex < anchorLeaf && e.firstSeq <= reading.seq &&
          (e.firstSeq > mine.firstSeq || (e.firstSeq === mine.firstSeq && e.leafIndex > mine.leafIndex)));
        if (later) fail('binding', 'key-bound', `seq ${reading.seq} is covered by a later binding (${keyEventText(later)}), logged before the reading's anchor (log index ${anchorLeaf})`);
      }
    }
  }

  // key-not-revoked: no revocation of the certified identity key before the reading's anchor, in log order
  if (!events) {
    if (absent) unproven('key-not-revoked', NOT_PROVEN);
    else fail('revocation', 'key-not-revoked', 'not checked: the index proof failed');
  } else if (!cert) fail('revocation', 'key-not-revoked', 'not checked: no valid identity certificate');
  else {
    const idKey = keyId(cert.identityPublicKey);
    const revs = events.filter((e) => e.kind === 'operator' && e.event === 'revoked' && bytesEqual(e.identityKeyId, idKey));
    const why = (e: KeyEvent): string => {
      const r = reasons.get(e.leafIndex);
      return r ? `reason "${r.reason}"` : 'reason not in the receipt';
    };
    const before = revs.find((e) => e.leafIndex < anchorLeaf);
    if (before) fail('revocation', 'key-not-revoked', `revoked at log index ${before.leafIndex} (${why(before)}), before the reading's anchor at log index ${anchorLeaf}`);
    else if (revs[0]) notes.set('key-not-revoked', `identity key ${toHex(idKey)} was revoked later, at log index ${revs[0].leafIndex} (${why(revs[0])}), after the reading's anchor at log index ${anchorLeaf}`);
  }
  if (cp && input.checkRevocation) {
    const revoked = input.checkRevocation({ meterId: reading.meterId, keyId: d.keyId, seq: reading.seq, checkpoint: cp });
    if (revoked !== undefined) fail('revocation', 'key-not-revoked', revoked);
  }

  return {
    findings,
    notes,
    verified: {
      meterId: reading.meterId, seq: reading.seq, leafIndex: anchorLeaf, ...(cp ? { checkpoint: cp } : {}), witnesses,
      bindingFirstSeq: bind?.b.firstSeq ?? 0n, keyStatus: events ? 'proven' : 'absent',
    },
  };
}

/** Runs every check; never throws for a bad receipt, delivery or proof (input problems are in `input`). */
export function checkReading(input: VerifyReadingInput): ReadingReport {
  let ev: Evaluation;
  try {
    ev = evaluate(input);
  } catch (err) {
    if (err instanceof ReceiptCheckError) return { input: err, checks: [], ok: false, noFailure: false };
    throw err;
  }
  const checks = VERIFY_CHECKS.map((name): CheckResult => {
    const mine = ev.findings.filter((f) => f.name === name);
    const first = mine.find((f) => f.status === 'fail') ?? mine[0];
    if (first) return { name, status: first.status, reason: first.reason };
    const note = ev.notes.get(name);
    return { name, status: 'pass', ...(note ? { note } : {}) };
  });
  const noFailure = checks.every((c) => c.status !== 'fail');
  const { checkpoint } = ev.verified;
  return {
    checks,
    ok: checks.every((c) => c.status === 'pass'),
    noFailure,
    ...(noFailure && checkpoint ? { reading: { ...ev.verified, checkpoint } } : {}),
  };
}

/** The older API: the verified reading, or the first failure as a ReceiptCheckError (unproven key status is not one). */
export function verifyReading(input: VerifyReadingInput): VerifiedReading {
  const ev = evaluate(input);
  const first = ev.findings.find((f) => f.status === 'fail');
  if (first) throw new ReceiptCheckError(first.legacy, first.reason, first.cause === undefined ? undefined : { cause: first.cause });
  return { ...ev.verified, checkpoint: ev.verified.checkpoint! };
}
