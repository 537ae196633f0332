// The three hashes of a re-hash run, each one SHA-256 call over one buffer reused across a meter's readings:
//   - reading hash: SHA-256 over the reading's canonical bytes (docs/protocol.md §3, protocol readingHash);
//   - meter-tree leaf: RFC 9162 §2.1.1 leaf hash SHA-256(0x00 ‖ anchor), anchor = the meter's fixed prefix ‖
//     seq ‖ key id ‖ reading hash (protocol encodeAnchor; what protocol meterLeafHash computes);
//   - the meter's root: RFC 9162 §2.1.1 MTH over the leaves, built bottom-up as complete subtrees are closed
//     (the same root as protocol rootOfLeaves, which recurses).
// rehash.test.ts checks all three against the protocol's own functions.
import { hash } from 'node:crypto';
import { EMPTY_ROOT, HASH_LENGTH, encodeAnchor } from '@meterseal/protocol';

const KEY_ID_LENGTH = 8;

/** SHA-256 over `bytes` (the reading hash of a stored encoding). */
export function sha256Of(bytes: Uint8Array): Buffer {
  return hash('sha256', bytes, 'buffer'); // one-shot: no Hash object per call (Node ≥ 20.12)
}

/** The leaf hasher of one meter: (seq, 8-byte key id, reading hash) -> RFC 9162 leaf hash of its anchor. */
export function leafHasher(meterId: string): (seq: bigint, keyId: Uint8Array, readingHash: Uint8Array) => Buffer {
  const prefix = encodeAnchor({ meterId, seq: 0n, keyId: new Uint8Array(KEY_ID_LENGTH), readingHash: new Uint8Array(HASH_LENGTH) })
    .subarray(0, -(8 + KEY_ID_LENGTH + HASH_LENGTH));
  const input = Buffer.alloc(1 + prefix.length + 8 + KEY_ID_LENGTH + HASH_LENGTH);
  input[0] = 0x00; // RFC 9162 §2.1.1 leaf prefix
  input.set(prefix, 1);
  const seqAt = 1 + prefix.length;
  return (seq, keyId, readingHash) => {
    input.writeBigUInt64BE(seq, seqAt); // u64 big-endian (docs/protocol.md §2.2)
    input.set(keyId, seqAt + 8);
    input.set(readingHash, seqAt + 8 + KEY_ID_LENGTH);
    return hash('sha256', input, 'buffer');
  };
}

/** RFC 9162 §2.1.1 MTH over `n` leaf hashes laid end to end in `leaves` (n × 32 bytes). */
export function rootOfFlatLeaves(leaves: Uint8Array, n: number): Uint8Array {
  return rootOfLeafHashes(n, (i) => leaves.subarray(i * HASH_LENGTH, (i + 1) * HASH_LENGTH))!;
}

/**
 * RFC 9162 §2.1.1 MTH over the leaf hashes leafAt(0..n-1), bottom-up as complete subtrees close (the same root
 * as protocol rootOfLeaves, without its recursion and allocations); null as soon as a leaf is null.
 */
export function rootOfLeafHashes(n: number, leafAt: (i: number) => Uint8Array | null): Uint8Array | null {
  if (n === 0) return EMPTY_ROOT;
  const node = Buffer.alloc(1 + 2 * HASH_LENGTH);
  node[0] = 0x01; // RFC 9162 §2.1.1 node prefix
  const hashOf = (left: Uint8Array, right: Uint8Array): Buffer => {
    node.set(left, 1);
    node.set(right, 1 + HASH_LENGTH);
    return hash('sha256', node, 'buffer');
  };
  // complete subtrees of decreasing size, left to right: MTH(D[0:n]) splits at the largest power of two < n
  const sizes: number[] = [];
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    let size = 1;
    let h = leafAt(i);
    if (h === null) return null;
    while (sizes.length > 0 && sizes[sizes.length - 1] === size) {
      h = hashOf(hashes.pop()!, h);
      sizes.pop();
      size *= 2;
    }
    sizes.push(size);
    hashes.push(h);
  }
  let h = hashes.pop()!;
  while (hashes.length > 0) h = hashOf(hashes.pop()!, h); // the right edge: smaller subtrees hang off the right
  return new Uint8Array(h);
}
