// Inclusion promises on the anchor hot path (docs/protocol.md §10.4): one Ed25519 signature per answer, made
// with Node's native crypto (RFC 8032 Ed25519 is deterministic, so the bytes equal those of the protocol
// package's noble signer; promise.test.ts checks it). The answer that carries a promise leaves only after the
// anchor's group commit (anchor-ingest.ts), so a promise is never given for an anchor that is not durable.
import { createPrivateKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import {
  concatBytes, encodeInclusionPromise, encodeSigned, leafHash, signingMessage, toHex, type InclusionPromise,
} from '@meterseal/protocol';

// RFC 8410 §7: PKCS #8 PrivateKeyInfo DER prefix of an Ed25519 seed (OID 1.3.101.112)
const PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

export interface PromiseSubject {
  meterId: string;
  seq: bigint;
  readingHash: Uint8Array;
  /** The signed anchor: the log entry. */
  signed: Uint8Array;
}

export class PromiseSigner {
  private readonly key: KeyObject;

  constructor(
    secretKey: Uint8Array,
    private readonly origin: string,
    private readonly maxMergeDelayMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_PREFIX, secretKey)), format: 'der', type: 'pkcs8' });
  }

  /**
   * The promise for an anchor at `leafIndex` of the ledger's log (its base origin), or of the log named
   * `logOrigin` (a closed period's "<origin>/<period>", for a resent anchor that is in that log).
   */
  promise(a: PromiseSubject, leafIndex: bigint, logOrigin: string = this.origin): InclusionPromise {
    const issuedAtMs = BigInt(this.now());
    return {
      logOrigin,
      meterId: a.meterId,
      seq: a.seq,
      anchorHash: leafHash(a.signed), // RFC 9162 §2.1.1: the leaf the receipt's proof starts from
      readingHash: a.readingHash,
      leafIndex,
      issuedAtMs,
      deadlineMs: issuedAtMs + BigInt(this.maxMergeDelayMs),
    };
  }

  /** record || signature, hex: the `promise` field of an AnchorAck. */
  signHex(p: InclusionPromise): string {
    const record = encodeInclusionPromise(p);
    const sig = new Uint8Array(nodeSign(null, signingMessage(record), this.key)); // docs/protocol.md §2.3
    return toHex(encodeSigned(record, sig));
  }
}
