// A signed record is the record's canonical bytes followed by a 64-byte Ed25519 signature over
// SIGNING_CONTEXT || record (docs/protocol.md §2.3). The context keeps MeterSeal signatures from
// being valid in any other protocol that uses the same key.
import { concatBytes, utf8 } from './bytes.js';
import { SIGNATURE_LENGTH, sign, verifyNoble, verifyNative } from './ed25519.js';
import { ProtocolError } from './errors.js';
import type { KeyObject } from 'node:crypto';

export const SIGNING_CONTEXT = utf8.encode('MeterSeal-v1\0');

export function signingMessage(record: Uint8Array): Uint8Array {
  return concatBytes(SIGNING_CONTEXT, record);
}

export function signRecord(record: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return sign(signingMessage(record), secretKey);
}

export interface SignedRecord {
  record: Uint8Array;
  signature: Uint8Array;
}

export function encodeSigned(record: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_LENGTH) throw new ProtocolError('BAD_SIGNATURE', 'signature must be 64 bytes');
  return concatBytes(record, signature);
}

/** Splits record || signature. The record itself is parsed (and its length checked) by its own decoder. */
export function splitSigned(bytes: Uint8Array): SignedRecord {
  if (bytes.length <= SIGNATURE_LENGTH + 2) throw new ProtocolError('TRUNCATED', 'signed record too short');
  return {
    record: bytes.slice(0, bytes.length - SIGNATURE_LENGTH),
    signature: bytes.slice(bytes.length - SIGNATURE_LENGTH),
  };
}

/** Device-side check (noble, strict RFC 8032). */
export function verifyRecord(record: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  return verifyNoble(signature, signingMessage(record), publicKey);
}

/** Server-side check (native crypto, same acceptance rule for keys that passed assertAcceptablePublicKey). */
export function verifyRecordNative(record: Uint8Array, signature: Uint8Array, publicKey: Uint8Array | KeyObject): boolean {
  return verifyNative(signature, signingMessage(record), publicKey);
}
