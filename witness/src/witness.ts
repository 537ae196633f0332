// The witness's decision on one add-checkpoint request (c2sp.org/tlog-witness §add-checkpoint), apart from
// HTTP: parse, find the log, check its signature, compare `old` with the stored size, verify the RFC 9162
// consistency proof from the stored head, persist atomically, and only then cosign (c2sp.org/tlog-cosignature).
// A witness never trusts the log: it cosigns only checkpoints consistent with the last one it cosigned.
// A ledger that rotates its log by period (config `rotates`) is one log per period "<base>/<period>": each kept
// as above, in period order, a new period only through its link to the last one cosigned (period-link.ts).
import type { Logger } from 'pino';
import {
  EMPTY_ROOT, bytesEqual, openCheckpoint, parseVerifierKey, periodOfOrigin, toBase64, verifyConsistency,
  type CosignatureSigner, type NoteVerifier,
} from '@meterseal/protocol';
import { REFUSAL_STATUS, WitnessError, describe, type RefusalCode } from './errors.js';
import { checkPeriodLink } from './period-link.js';
import { formatAddCheckpointRequest, parseAddCheckpointRequest, type AddCheckpointRequest } from './request.js';
import type { CosignedHead, HeadUpdate, LedgerPosition, WitnessStore } from './store.js';

export type AddCheckpointOutcome =
  | { status: 200; origin: string; size: bigint; cosignature: string }
  | {
    status: 400 | 403 | 404 | 409 | 422; code: RefusalCode; message: string;
    /** OLD_SIZE_MISMATCH: the stored size */ knownSize?: bigint;
    /** LINK_REQUIRED: the log this witness cosigned last for the ledger, and its cosigned size */ head?: { origin: string; size: bigint };
  };

/** How an origin is checked: its key, and for a rotating ledger its base origin and the origin's period. */
interface LogRule {
  verifier: NoteVerifier;
  ledger?: { base: string; period: string };
}

type EvidenceCode = 'BAD_PROOF' | 'ROOT_MISMATCH' | 'BAD_LINK' | 'LINK_CONFLICT' | 'PERIOD_ROLLBACK';

export interface WitnessDeps {
  store: WitnessStore;
  signer: CosignatureSigner;
  logs: ReadonlyArray<{ origin: string; verifierKey: string; rotates?: boolean }>;
  log: Logger;
  /** Clock (epoch ms). */
  now: () => number;
}

export class Witness {
  private readonly logs = new Map<string, NoteVerifier>();
  /** Rotating ledgers by base origin. */
  private readonly ledgers = new Map<string, NoteVerifier>();

  constructor(private readonly d: WitnessDeps) {
    for (const l of d.logs) {
      const v = parseVerifierKey(l.verifierKey);
      if (bytesEqual(v.publicKey, d.signer.publicKey)) {
        // the same Ed25519 key would make the witness's statements and the log's indistinguishable in intent
        throw new WitnessError('KEY_SEPARATION', `log "${l.origin}" is configured with the witness's own public key`);
      }
      (l.rotates ? this.ledgers : this.logs).set(l.origin, v);
    }
  }

  /** The rule for a checkpoint origin: an exact log, or a rotating ledger's base or "<base>/<period>" (sameLedgerOrigin). */
  private rule(origin: string): LogRule | undefined {
    const exact = this.logs.get(origin);
    if (exact) return { verifier: exact };
    const asBase = this.ledgers.get(origin);
    if (asBase) return { verifier: asBase, ledger: { base: origin, period: '' } };
    const slash = origin.lastIndexOf('/'); // period ids hold no '/'
    const base = origin.slice(0, Math.max(0, slash));
    const verifier = this.ledgers.get(base);
    const period = verifier ? periodOfOrigin(base, origin) : undefined;
    return verifier && period !== undefined ? { verifier, ledger: { base, period } } : undefined;
  }

  addCheckpoint(body: Uint8Array): AddCheckpointOutcome {
    let req: AddCheckpointRequest;
    try {
      req = parseAddCheckpointRequest(body);
    } catch (err) {
      if (err instanceof WitnessError) return this.refuse('MALFORMED', err.message);
      throw err;
    }
    const { origin } = req.checkpoint;
    // c2sp.org/tlog-witness: unknown origin → 404; no signature by a trusted key → 403 (others ignored)
    const rule = this.rule(origin);
    if (!rule) return this.refuse('UNKNOWN_ORIGIN', `unknown log origin "${origin.slice(0, 100)}"`);
    try {
      openCheckpoint(req.note, rule.verifier, origin);
    } catch (err) {
      return this.refuse('BAD_SIGNATURE', `checkpoint is not signed by the key of "${origin}": ${describe(err)}`, { origin });
    }
    if (!rule.ledger) {
      if (req.link) return this.refuse('MALFORMED', `link lines are for ledgers configured with rotates; "${origin}" is not`, { origin });
      return this.extend(req, (known, next) => this.d.store.advance(origin, known, next));
    }
    return this.addRotating(req, rule.verifier, rule.ledger.base, rule.ledger.period);
  }

  /**
   * The c2sp.org/tlog-witness rules for a log the witness knows (or a first checkpoint): `old` equals the stored
   * size, and the checkpoint extends the stored head; `commit` stores the new head atomically.
   */
  private extend(req: AddCheckpointRequest, commit: (known: CosignedHead | null, next: CosignedHead) => boolean): AddCheckpointOutcome {
    const { origin, size, root } = req.checkpoint;
    // From here to commit() nothing awaits, and commit() is a compare-and-set: no request can roll back another.
    const known = this.d.store.latest(origin);
    const knownSize = known?.size ?? 0n;
    // c2sp.org/tlog-witness: old must equal the size of the latest cosigned checkpoint (0 if none), else 409
    if (req.oldSize !== knownSize) {
      return this.refuse('OLD_SIZE_MISMATCH', `old size ${req.oldSize} is not the cosigned size ${knownSize}`, { origin, knownSize });
    }
    if (known !== null && req.link) return this.refuse('MALFORMED', `link lines are only for the first checkpoint of a period log; "${origin}" is known`, { origin });
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
    if (!commit(known, { size, root, note: req.note, cosignedAtMs: nowMs })) return this.raced(origin);
    return this.cosign(req, knownSize, nowMs);
  }

  /** A rotating ledger: one log per period, in period order; a new period only through its link (period-link.ts). */
  private addRotating(req: AddCheckpointRequest, verifier: NoteVerifier, base: string, period: string): AddCheckpointOutcome {
    const { origin, size, root } = req.checkpoint;
    const store = this.d.store;
    const pos = store.ledgerPosition(base);
    const here: LedgerPosition = { origin, period };
    if (pos && period < pos.period) return this.rollback(req, pos);
    if (pos ? pos.origin === origin : store.latest(origin) !== null) {
      return this.extend(req, (known, next) => store.advanceLedger(base, pos, here, [{ origin, expected: known, next }]));
    }
    // the first checkpoint of a log this witness has not cosigned: a new period (or the ledger's first)
    if (req.oldSize !== 0n) return this.refuse('OLD_SIZE_MISMATCH', `old size ${req.oldSize}: nothing of "${origin}" was cosigned`, { origin, knownSize: 0n });
    if (size === 0n && !bytesEqual(root, EMPTY_ROOT)) return this.evidence(req, 'BAD_PROOF', 'a size-0 checkpoint must have the empty-tree root');
    const head = pos ? store.latest(pos.origin) : null;
    const nowMs = this.d.now();
    const v = checkPeriodLink({
      checkpoint: req.checkpoint, period, link: req.link, verifier, nowMs,
      periodOf: (o) => (o === base ? '' : periodOfOrigin(base, o)),
      known: pos ? { position: pos, head } : null,
    });
    if (!v.ok) {
      if (v.code === 'LINK_REQUIRED') return this.refuse('LINK_REQUIRED', v.message, { origin, head: { origin: pos!.origin, size: head?.size ?? 0n } });
      return this.evidence(req, v.code, v.message);
    }
    const heads: HeadUpdate[] = [{ origin, expected: null, next: { size, root, note: req.note, cosignedAtMs: nowMs } }];
    // the closed log's head becomes its final checkpoint: verified to extend the cosigned one, committed in entry 0
    if (v.final && pos && !(head && head.size === v.final.size)) {
      heads.push({ origin: pos.origin, expected: head, next: { size: v.final.size, root: v.final.root, note: v.final.note, cosignedAtMs: nowMs } });
    }
    if (!store.advanceLedger(base, pos, here, heads)) return this.raced(origin);
    this.d.log.info({ base, from: pos?.origin, to: origin, links: req.link?.groups.length ?? 0 }, 'rotating ledger: new period log linked');
    return this.cosign(req, 0n, nowMs);
  }

  /** A checkpoint of a period before the witness's latest: never cosigned; kept as evidence when it extends the closed log. */
  private rollback(req: AddCheckpointRequest, pos: LedgerPosition): AddCheckpointOutcome {
    const { origin, size, root } = req.checkpoint;
    const message = `"${origin}" is a period before "${pos.origin}", which this witness already cosigned: a rollback or a fork`;
    const head = this.d.store.latest(origin);
    // beyond (or beside) the closed log's final checkpoint: the ledger signed entries after closing the log
    if (head && (size > head.size || (size === head.size && !bytesEqual(root, head.root)))) return this.evidence(req, 'PERIOD_ROLLBACK', message);
    return this.refuse('PERIOD_ROLLBACK', message, { origin });
  }

  private raced(origin: string): AddCheckpointOutcome {
    const current = this.d.store.latest(origin)?.size ?? 0n;
    return this.refuse('OLD_SIZE_MISMATCH', `another request advanced "${origin}" to ${current}`, { origin, knownSize: current });
  }

  private cosign(req: AddCheckpointRequest, from: bigint, nowMs: number): AddCheckpointOutcome {
    const { origin, size } = req.checkpoint;
    const cosignature = this.d.signer.signCosignature(req.text, BigInt(Math.floor(nowMs / 1000)));
    this.d.log.info({ origin, size: size.toString(), from: from.toString() }, 'cosigned checkpoint');
    return { status: 200, origin, size, cosignature };
  }

  private refuse(code: RefusalCode, message: string, o: { origin?: string; knownSize?: bigint; head?: { origin: string; size: bigint } } = {}): AddCheckpointOutcome {
    this.d.log.warn({ code, origin: o.origin, knownSize: o.knownSize?.toString() }, `add-checkpoint refused: ${message}`);
    const status = REFUSAL_STATUS[code];
    return {
      status, code, message, ...(o.knownSize === undefined ? {} : { knownSize: o.knownSize }), ...(o.head ? { head: o.head } : {}),
    };
  }

  /** A refusal of a validly log-signed checkpoint: possible log misbehaviour, kept (c2sp.org/tlog-witness MAY log it). */
  private evidence(req: AddCheckpointRequest, code: EvidenceCode, message: string): AddCheckpointOutcome {
    const origin = req.checkpoint.origin;
    this.d.log.error({ origin, code, size: req.checkpoint.size.toString(), oldSize: req.oldSize.toString() }, `possible split view or rewritten history: ${message}`);
    try {
      const request = formatAddCheckpointRequest(req.oldSize, req.proof, req.note, req.link);
      this.d.store.recordEvidence({ origin, reason: code, request, receivedAtMs: this.d.now() });
    } catch (err) {
      this.d.log.error({ err: describe(err) }, 'could not store evidence');
    }
    return { status: REFUSAL_STATUS[code], code, message: `${message}; not cosigned` };
  }
}
