// Merkle tree hashing, RFC 9162 §2.1.1 (identical to RFC 6962 §2.1).
import { createHash, hash } from 'node:crypto';

export const HASH_LENGTH = 32;

/** MTH({}) = SHA-256() — RFC 9162 §2.1.1. */
export const EMPTY_ROOT = new Uint8Array(createHash('sha256').digest());

// One-shot SHA-256 (node:crypto hash, Node >= 20.12) over a reused scratch buffer: no Hash object per call, which
// was most of a leaf or node hash's cost. Synchronous, so one scratch per kind is safe.
let leafScratch = Buffer.alloc(512);
const nodeScratch = Buffer.alloc(1 + 2 * HASH_LENGTH);
nodeScratch[0] = 0x01; // RFC 9162 §2.1.1: node hash = HASH(0x01 || left || right)

export function leafHash(data: Uint8Array): Uint8Array {
  if (data.length + 1 > leafScratch.length) {
    leafScratch = Buffer.alloc(Math.max(data.length + 1, leafScratch.length * 2));
  }
  leafScratch[0] = 0x00; // RFC 9162 §2.1.1: leaf hash = HASH(0x00 || d(0))
  leafScratch.set(data, 1);
  return new Uint8Array(hash('sha256', leafScratch.subarray(0, data.length + 1), 'buffer'));
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_LENGTH || right.length !== HASH_LENGTH) {
    return new Uint8Array(createHash('sha256').update(nodeScratch.subarray(0, 1)).update(left).update(right).digest());
  }
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_LENGTH);
  return new Uint8Array(hash('sha256', nodeScratch, 'buffer'));
}

/** k, the largest power of two smaller than n (n > 1) — RFC 9162 §2.1.1. */
export function splitPoint(n: bigint): bigint {
  let k = 1n;
  while (k << 1n < n) k <<= 1n;
  return k;
}
