// The trust file (docs/protocol.md §10.6): what an offline verifier trusts — the log origin, the ledger's note
// verifier key, the witnesses' cosignature keys and the quorum. Moved out of verify-receipt.ts unchanged.
import { z } from 'zod';
import { toHex } from './bytes.js';
import { parseCosignatureVerifierKey, type CosignatureVerifier } from './cosignature.js';
import { ProtocolError } from './errors.js';
import { parseVerifierKey, type NoteVerifier } from './note.js';

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

