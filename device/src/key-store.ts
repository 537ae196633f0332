// The narrow interface the agent signs through (issue 5 item 10): a public key and "sign this record"
// (docs/protocol.md §2.3). Today a software key loaded from the key file (keystore.ts); a secure element
// (ATECC608, TPM 2.0) implements the same two members later without the secret ever reaching the agent.
import { signRecord, type KeyPair } from '@meterseal/protocol';

export interface KeyStore {
  readonly publicKey: Uint8Array;
  /** The Ed25519 signature of the record under the MeterSeal signing context (§2.3). */
  sign(record: Uint8Array): Uint8Array;
}

export class SoftwareKeyStore implements KeyStore {
  readonly publicKey: Uint8Array;
  readonly #secretKey: Uint8Array;
  constructor(key: KeyPair) {
    this.publicKey = key.publicKey;
    this.#secretKey = key.secretKey;
  }
  sign(record: Uint8Array): Uint8Array {
    return signRecord(record, this.#secretKey);
  }
}

/** Signs with either a KeyStore or a plain key pair (callers that still hold one). */
export function signAs(identity: KeyStore | KeyPair, record: Uint8Array): Uint8Array {
  return 'sign' in identity ? identity.sign(record) : signRecord(record, identity.secretKey);
}
