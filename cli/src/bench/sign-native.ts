// Node's native (OpenSSL) Ed25519 signer, for bench set-up and references only: the device signs with
// noble (protocol sign/signRecord). Ed25519 is deterministic (RFC 8032 §5.1.6), so for the same seed and
// message both produce the same 64 bytes — bench set-up checks that before relying on it.
import { createPrivateKey, sign as nodeSign, type KeyObject } from 'node:crypto';

// RFC 8410 §7: PKCS#8 PrivateKeyInfo DER prefix of an Ed25519 seed (OID 1.3.101.112, OCTET STRING of 32).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function nativeSecretKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function signNative(message: Uint8Array, key: KeyObject): Uint8Array {
  return new Uint8Array(nodeSign(null, message, key));
}
