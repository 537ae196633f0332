// The witness's decision on one add-checkpoint request (c2sp.org/tlog-witness §add-checkpoint), apart from
// HTTP: parse, find the log, check its signature, compare `old` with the stored size, verify the RFC 9162
// consistency proof from the stored head, persist atomically, and only then cosign (c2sp.org/tlog-cosignature).
// A witness never trusts the log: it cosigns only checkpoints consistent with the last one it cosigned.
import type { Logger } from 'pino';
import {
  EMPTY_ROOT, bytesEqual, openCheckpoint, parseVerifierKey, toBase64, verifyConsistency,
  type CosignatureSigner, type NoteVerifier,
} from '@meterseal/protocol';
import { REFUSAL_STATUS, WitnessError, describe, type RefusalCode } from './errors.js';
import { parseAddCheckpointRequest, type AddCheckpointRequest } from './request.js';
import type { WitnessStore } from './store.js';

export type AddCheckpointOutcome =
  | { status: 200; origin: string; size: bigint; cosignature: string }
  | { status: 400 | 403 | 404 | 409 | 422; code: RefusalCode; message: string; /** OLD_SIZE_MISMATCH: the stored size */ knownSize?: bigint };

export interface WitnessDeps {
  store: WitnessStore;
  signer: CosignatureSigner;
  logs: ReadonlyArray<{ origin: string; verifierKey: string }>;
  log: Logger;
  /** Clock (epoch ms). */
  now: () => number;
}

export class Witness {
  private readonly logs = new Map<string, NoteVerifier>();

  constructor(private readonly d: WitnessDeps) {
    for (const l of d.logs) {
      const v = parseVerifierKey(l.verifierKey);
      if (bytesEqual(v.publicKey, d.signer.publicKey)) {
        // the same Ed25519 key would make the witness's statements and the log's indistinguishable in intent
        throw new WitnessError('KEY_SEPARATION', `log "${l.origin}" is configured with the witness's own public key`);
      }
      this.logs.set(l.origin, v);
    }
  }

  addCheckpoint(body: Uint8Array): AddCheckpointOutcome {
    let req: AddCheckpointRequest;
    try {
      req = parseAddCheckpointRequest(body);
    } catch (err) {
      if (err instanceof WitnessError) return this.refuse('MALFORMED', err.message);
      throw err;
    }
    const { origin, size, root } = req.checkpoint;
    // c2sp.org/tlog-witness: unknown origin → 404; no signature by a trusted key → 403 (others ignored)
    const verifier = this.logs.get(origin);
    if (!verifier) return this.refuse('UNKNOWN_ORIGIN', `unknown log origin "${origin.slice(0, 100)}"`);
    try {
      openCheckpoint(req.note, verifier, origin);
    } catch (err) {
      return this.refuse('BAD_SIGNATURE', `checkpoint is not signed by the key of "${origin}": ${describe(err)}`, { origin });
    }

    // From here to advance() nothing awaits, and advance() is a compare-and-set: no request can roll back another.
    const known = this.d.store.latest(origin);
    const knownSize = known?.size ?? 0n;
    // c2sp.org/tlog-witness: old must equal the size of the latest cosigned checkpoint (0 if none), else 409
    if (req.oldSize !== knownSize) {
      return this.refuse('OLD_SIZE_MISMATCH', `old size ${req.oldSize} is not the cosigned size ${knownSize}`, { origin, knownSize });
    }
    if (known === null || knownSize === 0n) {
      if (size === 0n && !bytesEqual(root, EMPTY_ROOT)) return this.evidence(req, 'BAD_PROOF', 'a size-0 checkpoint must have the empty-tree root');
    } else if (size === knownSize) {
      // c2sp.org/tlog-witness: same size, different root → 409: two signed roots for one size is a split view
      if (!bytesEqual(root, known.root)) {
        return this.evidence(req, 'ROOT_MISMATCH', `root ${toBase64(root)} differs from the cosigned root at size ${size}`);
      }
      if (req.proof.length !== 0) return this.evidence(req, 'BAD_PROOF', 'the proof must be empty between equal sizes');
    } else if (!verifyConsistency(knownSize, size, req.proof, known.root, root)) {
      // RFC 9162 §2.1.4.2; c2sp.org/tlog-witness: a proof that does not verify → 422, and MUST NOT cosign
      return this.evidence(req, 'BAD_PROOF', `consistency proof from size ${knownSize} to ${size} does not verify`);
    }

    const nowMs = this.d.now();
    // c2sp.org/tlog-witness: persist the new checkpoint before responding, atomically with the old-size check
    if (!this.d.store.advance(origin, known, { size, root, note: req.note, cosignedAtMs: nowMs })) {
      const current = this.d.store.latest(origin)?.size ?? 0n;
      return this.refuse('OLD_SIZE_MISMATCH', `another request advanced "${origin}" to ${current}`, { origin, knownSize: current });
    }
    const cosignature = this.d.signer.signCosignature(req.text, BigInt(Math.floor(nowMs / 1000)));
    this.d.log.info({ origin, size: size.toString(), from: knownSize.toString() }, 'cosigned checkpoint');
    return { status: 200, origin, size, cosignature };
  }

  private refuse(code: RefusalCode, message: string, o: { origin?: string; knownSize?: bigint } = {}): AddCheckpointOutcome {
    this.d.log.warn({ code, origin: o.origin, knownSize: o.knownSize?.toString() }, `add-checkpoint refused: ${message}`);
    const status = REFUSAL_STATUS[code];
    return o.knownSize === undefined ? { status, code, message } : { status, code, message, knownSize: o.knownSize };
  }

  /** A refusal of a validly log-signed checkpoint: possible log misbehaviour, kept (c2sp.org/tlog-witness MAY log it). */
  private evidence(req: AddCheckpointRequest, code: 'BAD_PROOF' | 'ROOT_MISMATCH', message: string): AddCheckpointOutcome {
    const origin = req.checkpoint.origin;
    this.d.log.error({ origin, code, size: req.checkpoint.size.toString(), oldSize: req.oldSize.toString() }, `possible split view or rewritten history: ${message}`);
    try {
      const request = `old ${req.oldSize}\n${req.proof.map((h) => `${toBase64(h)}\n`).join('')}\n${req.note}`;
      this.d.store.recordEvidence({ origin, reason: code, request, receivedAtMs: this.d.now() });
    } catch (err) {
      this.d.log.error({ err: describe(err) }, 'could not store evidence');
    }
    return { status: REFUSAL_STATUS[code], code, message: `${message}; not cosigned` };
  }
}
