// Merkle tree hashing, RFC 9162 §2.1.1 (identical to RFC 6962 §2.1).
import { createHash } from 'node:crypto';

export const HASH_LENGTH = 32;

/** MTH({}) = SHA-256() — RFC 9162 §2.1.1. */
export const EMPTY_ROOT = new Uint8Array(createHash('sha256').digest());

const LEAF_PREFIX = Buffer.from([0x00]); // RFC 9162 §2.1.1: leaf hash = HASH(0x00 || d(0))
const NODE_PREFIX = Buffer.from([0x01]); // RFC 9162 §2.1.1: node hash = HASH(0x01 || left || right)

export function leafHash(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(LEAF_PREFIX).update(data).digest());
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest());
}

/** k, the largest power of two smaller than n (n > 1) — RFC 9162 §2.1.1. */
export function splitPoint(n: bigint): bigint {
  let k = 1n;
  while (k << 1n < n) k <<= 1n;
  return k;
}
