// Offline verification of a reading against a receipt and a trust file (docs/protocol.md §10.6): no network.
// Each check that fails throws a ReceiptCheckError whose `check` names it, so a verifier can say exactly why.
//   checkpoint   the receipt's checkpoint is signed by the trusted ledger key, for the trusted origin
//   quorum       at least `quorum` of the trusted witnesses cosigned that checkpoint (c2sp.org/tlog-cosignature)
//   certificate  the ledger certified the meter's identity key (IdentityCertificate, ledger key)
//   binding      the session key binding is signed by that identity key and covers the reading's seq
//   binding-inclusion  the binding is in the log under the checkpoint (RFC 9162 §2.1.3.2)
//   reading      the delivery's signature verifies with the bound session key over the reading's anchor
//   anchor       the receipt's anchor entry is exactly that signed anchor
//   anchor-inclusion   the anchor is in the log under the checkpoint
//   revocation   an optional hook: the meter's key was not revoked for this seq (per-meter index, pending)
import { z } from 'zod';
import { bytesEqual, toHex } from './bytes.js';
import { decodeKeyBinding } from './binding.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { countWitnesses, parseCosignatureVerifierKey, type CosignatureVerifier } from './cosignature.js';
import { anchorBytesOfReading, decodeDelivery } from './delivery.js';
import { keyId } from './ed25519.js';
import { ProtocolError } from './errors.js';
import { decodeIdentityCertificate } from './identity.js';
import { leafHash, verifyInclusion } from './merkle/index.js';
import { parseVerifierKey, type NoteVerifier } from './note.js';
import { parseReceipt, type ReceiptParts, type TlogProof } from './receipt.js';
import { encodeSigned, splitSigned, verifyRecord } from './signed.js';

export type ReceiptCheck =
  | 'input' | 'checkpoint' | 'quorum' | 'certificate' | 'binding' | 'binding-inclusion'
  | 'reading' | 'anchor' | 'anchor-inclusion' | 'revocation';

export class ReceiptCheckError extends ProtocolError {
  constructor(readonly check: ReceiptCheck, message: string, options?: { cause?: unknown }) {
    super(`CHECK_${check.toUpperCase().replace('-', '_')}`, `${check}: ${message}`, options);
    this.name = 'ReceiptCheckError';
  }
}

/** The trust file (JSON): what a verifier trusts, nothing else. GET /v1/trust on the ledger prints one. */
export const TrustFileSchema = z
  .strictObject({
    format: z.literal('meterseal-trust/v1'),
    /** The log origin (first checkpoint line); also the ledger note key name. */
    origin: z.string().min(1).max(255),
    /** The ledger's C2SP note verifier key (ledger.vkey). */
    ledgerVerifierKey: z.string().min(1).max(1024),
    /** Witness cosignature/v1 verifier keys. */
    witnesses: z.array(z.string().min(1).max(1024)).max(64).default([]),
    /** How many distinct witnesses must have cosigned the receipt's checkpoint. */
    quorum: z.number().int().min(0).max(64).default(0),
  })
  .superRefine((t, ctx) => {
    if (t.quorum > t.witnesses.length) ctx.addIssue({ code: 'custom', path: ['quorum'], message: `quorum ${t.quorum} exceeds the ${t.witnesses.length} witnesses listed` });
  });
export type TrustFile = z.output<typeof TrustFileSchema>;

export interface Trust {
  origin: string;
  ledger: NoteVerifier;
  witnesses: CosignatureVerifier[];
  quorum: number;
}

/** Parses and checks a trust file (value or JSON text); throws ProtocolError BAD_TRUST naming the field. */
export function parseTrustFile(input: unknown): Trust {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (cause) {
      throw new ProtocolError('BAD_TRUST', 'trust file is not JSON', { cause });
    }
  }
  const r = TrustFileSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ProtocolError('BAD_TRUST', `trust file field ${i.path.join('.') || '(root)'}: ${i.message}`, { cause: r.error });
  }
  const t = r.data;
  const wrap = <T>(field: string, f: () => T): T => {
    try {
      return f();
    } catch (cause) {
      throw new ProtocolError('BAD_TRUST', `trust file field ${field}: ${(cause as Error).message}`, { cause });
    }
  };
  const ledger = wrap('ledgerVerifierKey', () => parseVerifierKey(t.ledgerVerifierKey));
  if (ledger.name !== t.origin) throw new ProtocolError('BAD_TRUST', `trust file field ledgerVerifierKey: key name "${ledger.name}" is not the origin "${t.origin}"`);
  const witnesses = t.witnesses.map((w, i) => wrap(`witnesses.${i}`, () => parseCosignatureVerifierKey(w)));
  if (new Set(witnesses.map((w) => toHex(w.publicKey))).size < t.quorum) {
    throw new ProtocolError('BAD_TRUST', 'trust file field quorum: fewer distinct witness keys than the quorum');
  }
  return { origin: t.origin, ledger, witnesses, quorum: t.quorum };
}

/**
 * Non-revocation hook: given the meter, the session key id and the seq, throw (or return a reason string) if
 * the key was revoked before that seq. Filled in by the per-meter index (being built in parallel); until then
 * a receipt proves inclusion and key binding, not non-revocation.
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
}

function included(entry: Uint8Array, p: TlogProof, cp: Checkpoint): boolean {
  return verifyInclusion(leafHash(entry), p.index, cp.size, p.proof, cp.root); // RFC 9162 §2.1.3.2
}

export function verifyReading(input: VerifyReadingInput): VerifiedReading {
  const { trust } = input;
  const fail = (check: ReceiptCheck, msg: string, cause?: unknown): never => {
    throw new ReceiptCheckError(check, msg, cause === undefined ? undefined : { cause });
  };
  let receipt: ReceiptParts;
  let d: ReturnType<typeof decodeDelivery>;
  try {
    receipt = input.receipt && typeof input.receipt === 'object' && 'anchorProof' in input.receipt && typeof (input.receipt as ReceiptParts).anchorProof === 'object'
      ? (input.receipt as ReceiptParts) : parseReceipt(input.receipt);
    d = decodeDelivery(input.delivery);
  } catch (err) {
    return fail('input', (err as Error).message, err);
  }
  const reading = d.decoded;
  if (receipt.meterId !== reading.meterId || receipt.seq !== reading.seq) {
    fail('input', `the receipt is for ${receipt.meterId} seq ${receipt.seq}, the reading is ${reading.meterId} seq ${reading.seq}`);
  }

  // 1. the checkpoint, signed by the ledger (c2sp.org/signed-note), both proofs against the same one
  if (receipt.anchorProof.checkpoint !== receipt.bindingProof.checkpoint) fail('checkpoint', 'the anchor and binding proofs name different checkpoints');
  let cp: Checkpoint;
  try {
    cp = openCheckpoint(receipt.anchorProof.checkpoint, trust.ledger, trust.origin);
  } catch (err) {
    return fail('checkpoint', (err as Error).message, err);
  }
  // 2. the witness quorum (c2sp.org/tlog-cosignature), distinct witnesses by public key
  const witnesses = trust.witnesses.length === 0 ? 0 : countWitnesses(receipt.anchorProof.checkpoint, trust.witnesses);
  if (witnesses < trust.quorum) fail('quorum', `${witnesses} of the trusted witnesses cosigned the checkpoint (size ${cp.size}); the quorum is ${trust.quorum}`);

  // 3. the identity certificate, signed by the ledger key
  const cert = (() => {
    try {
      return decodeIdentityCertificate(receipt.certificate);
    } catch (err) {
      return fail('certificate', (err as Error).message, err);
    }
  })();
  if (!verifyRecord(receipt.certificate, receipt.certificateSignature, trust.ledger.publicKey)) fail('certificate', 'the identity certificate is not signed by the ledger key');
  if (cert.meterId !== reading.meterId) fail('certificate', `the certificate is for meter ${cert.meterId}, not ${reading.meterId}`);
  if (cert.logOrigin !== trust.origin) fail('certificate', `the certificate names log ${cert.logOrigin}, not ${trust.origin}`);

  // 4. the key binding: signed by the certified identity key, for this meter, covering the seq
  const bind = (() => {
    try {
      const s = splitSigned(receipt.bindingEntry);
      return { ...s, b: decodeKeyBinding(s.record) };
    } catch (err) {
      return fail('binding', (err as Error).message, err);
    }
  })();
  if (bind.b.meterId !== reading.meterId) fail('binding', `the binding is for meter ${bind.b.meterId}`);
  if (!bytesEqual(bind.b.identityKeyId, keyId(cert.identityPublicKey)) || !verifyRecord(bind.record, bind.signature, cert.identityPublicKey)) {
    fail('binding', "the key binding is not signed by the meter's certified identity key");
  }
  if (!bytesEqual(keyId(bind.b.sessionPublicKey), d.keyId)) fail('binding', `the binding is for session key ${toHex(keyId(bind.b.sessionPublicKey))}, the reading names ${toHex(d.keyId)}`);
  if (bind.b.firstSeq > reading.seq) fail('binding', `seq ${reading.seq} is outside the binding, which covers seqs from ${bind.b.firstSeq}`);
  if (!included(receipt.bindingEntry, receipt.bindingProof, cp)) fail('binding-inclusion', `the binding's inclusion proof (index ${receipt.bindingProof.index}) does not lead to the checkpoint root at size ${cp.size}`);

  // 5. the reading's signature: over the anchor the reading implies, with the bound session key
  const anchor = anchorBytesOfReading(d.reading, reading, d.keyId);
  if (!verifyRecord(anchor, d.signature, bind.b.sessionPublicKey)) fail('reading', `the reading's signature does not verify with session key ${toHex(d.keyId)}`);
  // 6. the anchor entry is exactly this signed anchor, and it is in the log
  if (!bytesEqual(receipt.anchorEntry, encodeSigned(anchor, d.signature))) fail('anchor', "the receipt's anchor entry is not this reading's signed anchor");
  if (!included(receipt.anchorEntry, receipt.anchorProof, cp)) fail('anchor-inclusion', `the anchor's inclusion proof (index ${receipt.anchorProof.index}) does not lead to the checkpoint root at size ${cp.size}`);

  // 7. non-revocation: the per-meter index's check, when given
  const revoked = input.checkRevocation?.({ meterId: reading.meterId, keyId: d.keyId, seq: reading.seq, checkpoint: cp });
  if (revoked !== undefined) fail('revocation', revoked);

  return { meterId: reading.meterId, seq: reading.seq, leafIndex: receipt.anchorProof.index, checkpoint: cp, witnesses, bindingFirstSeq: bind.b.firstSeq };
}
