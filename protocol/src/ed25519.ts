// Ed25519 (RFC 8032 §5.1) with ONE acceptance rule for every party: strict RFC 8032 verification —
// canonical encodings of A and R (y < p), S < L (RFC 8032 §5.1.7 step 1), cofactorless equation
// [S]B = R + [k]A, and public keys of small order refused. The device signs and verifies with noble
// (ZIP-215 off); servers verify with Node's native crypto (OpenSSL), ~13x faster. Both paths are run
// against the RFC 8032 and Wycheproof vectors in ed25519.test.ts and against each other on mutations.
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { createPublicKey, verify as nodeVerify, randomBytes, type KeyObject } from 'node:crypto';
import { ProtocolError } from './errors.js';
import { sha256 } from './hash.js';
import { concatBytes } from './bytes.js';

ed.hashes.sha512 = sha512;

export const PUBLIC_KEY_LENGTH = 32; // RFC 8032 §5.1.5
export const SECRET_KEY_LENGTH = 32; // RFC 8032 §5.1.5 (the seed)
export const SIGNATURE_LENGTH = 64; // RFC 8032 §5.1.6
export const KEY_ID_LENGTH = 8;

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function generateKeyPair(): KeyPair {
  const secretKey = new Uint8Array(randomBytes(SECRET_KEY_LENGTH));
  return { secretKey, publicKey: ed.getPublicKey(secretKey) };
}

export function publicKeyFromSecret(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== SECRET_KEY_LENGTH) throw new ProtocolError('BAD_KEY', 'ed25519 secret key must be 32 bytes');
  return ed.getPublicKey(secretKey);
}

/** Key id: the first 8 bytes of SHA-256(public key). Scoped per meter; used to name a signing key in anchors. */
export function keyId(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).slice(0, KEY_ID_LENGTH);
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed.sign(message, secretKey);
}

/**
 * Throws unless `publicKey` is a key MeterSeal accepts: 32 bytes, a canonical point encoding
 * (RFC 8032 §5.1.3, y < p), not of small order. Checked once when a key is registered or bound, so
 * that the native fast path, which checks only the signature equation, applies the same rule.
 */
export function assertAcceptablePublicKey(publicKey: Uint8Array): void {
  if (publicKey.length !== PUBLIC_KEY_LENGTH) throw new ProtocolError('BAD_KEY', 'ed25519 public key must be 32 bytes');
  let point: ed.Point;
  try {
    point = ed.Point.fromBytes(publicKey, false);
  } catch (cause) {
    throw new ProtocolError('BAD_KEY', 'ed25519 public key is not a canonical curve point', { cause });
  }
  if (point.isSmallOrder()) throw new ProtocolError('BAD_KEY', 'ed25519 public key has small order');
}

/** Strict RFC 8032 verification with noble (ZIP-215 off). Never throws. */
export function verifyNoble(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

// RFC 8410 §4: SubjectPublicKeyInfo DER prefix for an Ed25519 key (OID 1.3.101.112).
const SPKI_PREFIX = new Uint8Array([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/** A public key prepared once for Node's native verifier (KeyObject creation is the costly part). */
export function nativePublicKey(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== PUBLIC_KEY_LENGTH) throw new ProtocolError('BAD_KEY', 'ed25519 public key must be 32 bytes');
  return createPublicKey({ key: Buffer.from(concatBytes(SPKI_PREFIX, publicKey)), format: 'der', type: 'spki' });
}

/**
 * Node native (OpenSSL) Ed25519 verification. Same acceptance as verifyNoble for keys that passed
 * assertAcceptablePublicKey (OpenSSL checks S < L and decodes A and R canonically). Never throws.
 */
export function verifyNative(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array | KeyObject): boolean {
  if (signature.length !== SIGNATURE_LENGTH) return false;
  try {
    const key = publicKey instanceof Uint8Array ? nativePublicKey(publicKey) : publicKey;
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}
