// The inclusion promises of a committed group (docs/protocol.md §10.4), signed in one batch. A promise is
// one Ed25519 signature (~40 µs natively) per answer: on the event loop it was its largest single cost. A
// group's promises are built when the group is decided and signed on the verify pool's workers
// (verify-pool.ts `sign`) while the event loop commits the group (the fsync); the answers carrying them
// still leave only after that commit (anchor-ingest.ts). The bytes are exactly those of PromiseSigner.signHex
// (RFC 8032 Ed25519 is deterministic; ingest-promises.test.ts compares them); small groups, or a pool that
// failed, are signed here on the event loop with PromiseSigner itself.
import { concatBytes, encodeInclusionPromise, encodeSigned, signingMessage, toHex, type InclusionPromise } from '@meterseal/protocol';
import type { LedgerDeps } from './handlers/context.js';
import { PromiseSigner, type PromiseSubject } from './promise.js';
import type { VerifyPool } from './verify-pool.js';

// RFC 8410 §7: PKCS #8 PrivateKeyInfo DER prefix of an Ed25519 seed (OID 1.3.101.112), as promise.ts
const PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

export interface PromiseRequest {
  subject: PromiseSubject;
  leafIndex: bigint;
  /** A closed period's log origin (a resent anchor found there); absent: the ledger's own origin. */
  logOrigin?: string;
}

export class PromiseIssuer {
  private readonly signer: PromiseSigner;
  private readonly pkcs8: Uint8Array;

  constructor(
    deps: Pick<LedgerDeps, 'keys' | 'config'>,
    private readonly pool?: VerifyPool,
    /** Batches smaller than this are signed on this thread (a worker round trip costs more). */
    private readonly inlineBelow = 32,
    private readonly onPoolError: (err: unknown) => void = () => undefined,
  ) {
    this.signer = new PromiseSigner(deps.keys.secretKey, deps.config.origin, deps.config.maxMergeDelayMs);
    this.pkcs8 = concatBytes(PKCS8_PREFIX, deps.keys.secretKey);
  }

  /** The promise records (unsigned), issued now: call once the group's leaf indexes are decided. */
  build(requests: readonly PromiseRequest[]): InclusionPromise[] {
    return requests.map((r) => {
      const p = this.signer.promise(r.subject, r.leafIndex);
      return r.logOrigin !== undefined ? { ...p, logOrigin: r.logOrigin } : p;
    });
  }

  /** Each promise signed, as the hex `promise` field of an AnchorAck (record ‖ signature). */
  sign(promises: readonly InclusionPromise[]): string[] | Promise<string[]> {
    const inline = (): string[] => promises.map((p) => this.signer.signHex(p));
    if (!this.pool || this.pool.size === 0 || promises.length < this.inlineBelow) return inline();
    const fallBack = (err: unknown): string[] => {
      this.onPoolError(err);
      return inline();
    };
    const records = promises.map((p) => encodeInclusionPromise(p));
    try {
      return this.pool.sign(this.pkcs8, records.map((r) => signingMessage(r))).then((sigs) => records.map((r, i) => toHex(encodeSigned(r, sigs[i]!))), fallBack);
    } catch (err) {
      return fallBack(err);
    }
  }
}
