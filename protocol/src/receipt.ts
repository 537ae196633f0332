// Receipts (docs/protocol.md §10.5): what proves offline that a reading's anchor is in the log. A receipt is
// JSON carrying two C2SP tlog-proofs (https://c2sp.org/tlog-proof) against the SAME cosigned checkpoint: one
// for the anchor entry, one for the key binding that covers the reading's seq, plus the ledger's identity
// certificate of the meter (which names the key that signed the binding). Everything in it is checked by
// verify-receipt.ts against a trust file; nothing in it is trusted as such.
import { z } from 'zod';
import { fromBase64, fromHex, toBase64, toHex } from './bytes.js';
import { ProtocolError } from './errors.js';
import { HASH_LENGTH } from './merkle/hashing.js';
import type { KeyStatusWire } from './key-status.js';

const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1'; // c2sp.org/tlog-proof: the first line
const MAX_PROOF_HASHES = 64; // a u64 tree has at most 64 levels (RFC 9162 §2.1.3.1)
export const MAX_RECEIPT_BYTES = 1 << 17;

export interface TlogProof {
  /** Opaque, unauthenticated (c2sp.org/tlog-proof: applications MUST NOT implicitly trust it). */
  extra?: Uint8Array;
  index: bigint;
  /** Sibling hashes from the leaf's sibling up to the root's child (RFC 6962 §2.1.1). */
  proof: Uint8Array[];
  /** The signed checkpoint note, verbatim, with any cosignature lines. */
  checkpoint: string;
}

export function formatTlogProof(p: TlogProof): string {
  const lines = [TLOG_PROOF_HEADER];
  if (p.extra) lines.push(`extra ${toBase64(p.extra)}`); // c2sp.org/tlog-proof: optional second line
  lines.push(`index ${p.index.toString(10)}`); // c2sp.org/tlog-proof: decimal, no leading zeroes
  for (const h of p.proof) lines.push(toBase64(h)); // c2sp.org/tlog-proof: one base64 SHA-256 hash per line
  return `${lines.join('\n')}\n\n${p.checkpoint}`; // c2sp.org/tlog-proof: an empty line, then the checkpoint verbatim
}

/** Parses c2sp.org/tlog-proof@v1 text; hostile input gets a ProtocolError BAD_TLOG_PROOF naming the line. */
export function parseTlogProof(text: string): TlogProof {
  if (typeof text !== 'string' || text.length > MAX_RECEIPT_BYTES) throw new ProtocolError('BAD_TLOG_PROOF', 'tlog-proof must be a string under 128 KiB');
  const split = text.indexOf('\n\n');
  if (split < 0) throw new ProtocolError('BAD_TLOG_PROOF', 'tlog-proof has no empty line before the checkpoint');
  const head = text.slice(0, split).split('\n');
  const checkpoint = text.slice(split + 2);
  if (head[0] !== TLOG_PROOF_HEADER) throw new ProtocolError('BAD_TLOG_PROOF', `first line must be ${TLOG_PROOF_HEADER}`);
  let i = 1;
  let extra: Uint8Array | undefined;
  if (head[i]?.startsWith('extra ')) {
    try {
      extra = fromBase64(head[i]!.slice(6));
    } catch (cause) {
      throw new ProtocolError('BAD_TLOG_PROOF', 'extra line is not canonical base64', { cause });
    }
    i++;
  }
  const indexLine = head[i] ?? '';
  const m = /^index (0|[1-9][0-9]{0,19})$/.exec(indexLine);
  if (!m || BigInt(m[1]!) >= 1n << 64n) throw new ProtocolError('BAD_TLOG_PROOF', `line ${i + 1} must be "index <decimal u64>"`);
  const index = BigInt(m[1]!);
  const hashLines = head.slice(i + 1);
  if (hashLines.length > MAX_PROOF_HASHES) throw new ProtocolError('BAD_TLOG_PROOF', `more than ${MAX_PROOF_HASHES} proof hashes`);
  const proof = hashLines.map((l, j) => {
    let h: Uint8Array;
    try {
      h = fromBase64(l);
    } catch (cause) {
      throw new ProtocolError('BAD_TLOG_PROOF', `proof hash ${j} is not canonical base64`, { cause });
    }
    if (h.length !== HASH_LENGTH) throw new ProtocolError('BAD_TLOG_PROOF', `proof hash ${j} is not ${HASH_LENGTH} bytes`);
    return h;
  });
  if (checkpoint.length === 0) throw new ProtocolError('BAD_TLOG_PROOF', 'no checkpoint after the proof');
  return { ...(extra ? { extra } : {}), index, proof, checkpoint };
}

const hex = (max: number) => z.string().max(max).regex(/^([0-9a-f]{2})+$/, 'lowercase hex bytes');
const decimal = z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'a decimal u64');

/** The receipt JSON (GET /receipt on the ledger). */
export const ReceiptSchema = z.strictObject({
  format: z.literal('meterseal-receipt/v1'),
  meterId: z.string().min(1).max(64),
  seq: decimal,
  /** The signed anchor (record || signature), hex: the log entry. */
  anchorEntry: hex(1024),
  /** c2sp.org/tlog-proof of anchorEntry. */
  anchorProof: z.string().max(MAX_RECEIPT_BYTES),
  /** The signed KeyBinding covering seq, hex: its own log entry. */
  bindingEntry: hex(1024),
  /** c2sp.org/tlog-proof of bindingEntry, against the same checkpoint. */
  bindingProof: z.string().max(MAX_RECEIPT_BYTES),
  /** The ledger's IdentityCertificate of the meter and its signature, hex. */
  certificate: hex(1024),
  certificateSignature: hex(128),
  /** Optional (§10.5.1): the meter's key events and their index proof (key-status.ts checks it; absent in older receipts). */
  keyStatus: z.custom<KeyStatusWire>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'an object').optional(),
});
export type Receipt = z.infer<typeof ReceiptSchema>;

export interface ReceiptParts {
  meterId: string;
  seq: bigint;
  anchorEntry: Uint8Array;
  anchorProof: TlogProof;
  bindingEntry: Uint8Array;
  bindingProof: TlogProof;
  certificate: Uint8Array;
  certificateSignature: Uint8Array;
  /** The key-status section as received, unchecked: verify-receipt.ts parses and checks it. */
  keyStatus?: KeyStatusWire;
}

export function buildReceipt(p: ReceiptParts): Receipt {
  return {
    format: 'meterseal-receipt/v1',
    meterId: p.meterId,
    seq: p.seq.toString(),
    anchorEntry: toHex(p.anchorEntry),
    anchorProof: formatTlogProof(p.anchorProof),
    bindingEntry: toHex(p.bindingEntry),
    bindingProof: formatTlogProof(p.bindingProof),
    certificate: toHex(p.certificate),
    certificateSignature: toHex(p.certificateSignature),
    ...(p.keyStatus ? { keyStatus: p.keyStatus } : {}),
  };
}

/** Parses receipt JSON (a value or text); throws ProtocolError BAD_RECEIPT naming the field. */
export function parseReceipt(input: unknown): ReceiptParts {
  let value = input;
  if (typeof input === 'string') {
    if (input.length > 4 * MAX_RECEIPT_BYTES) throw new ProtocolError('BAD_RECEIPT', 'receipt too large');
    try {
      value = JSON.parse(input);
    } catch (cause) {
      throw new ProtocolError('BAD_RECEIPT', 'receipt is not JSON', { cause });
    }
  }
  const r = ReceiptSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ProtocolError('BAD_RECEIPT', `receipt field ${i.path.join('.') || '(root)'}: ${i.message}`, { cause: r.error });
  }
  const v = r.data;
  return {
    meterId: v.meterId,
    seq: BigInt(v.seq),
    anchorEntry: fromHex(v.anchorEntry),
    anchorProof: parseTlogProof(v.anchorProof),
    bindingEntry: fromHex(v.bindingEntry),
    bindingProof: parseTlogProof(v.bindingProof),
    certificate: fromHex(v.certificate),
    certificateSignature: fromHex(v.certificateSignature, 64),
    ...(v.keyStatus ? { keyStatus: v.keyStatus } : {}),
  };
}
