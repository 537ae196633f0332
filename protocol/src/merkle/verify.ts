// Proof verification — RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency). Returns false for any
// invalid input (wrong lengths, sizes, proof lengths) and never throws.
import { bytesEqual } from '../bytes.js';
import { HASH_LENGTH, nodeHash } from './hashing.js';

type Size = number | bigint;

function toSize(v: Size): bigint | null {
  if (typeof v === 'bigint') return v >= 0n && v < 1n << 64n ? v : null;
  return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : null;
}

function allHashes(xs: readonly Uint8Array[]): boolean {
  return Array.isArray(xs) && xs.every((x) => x instanceof Uint8Array && x.length === HASH_LENGTH);
}

export function verifyInclusion(
  leafHash: Uint8Array,
  index: Size,
  treeSize: Size,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  try {
    const idx = toSize(index);
    const size = toSize(treeSize);
    if (idx === null || size === null || idx >= size) return false;
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_LENGTH) return false;
    if (!(root instanceof Uint8Array) || root.length !== HASH_LENGTH || !allHashes(proof)) return false;
    let fn = idx; // RFC 9162 §2.1.3.2 step 2: fn = leaf_index, sn = tree_size - 1
    let sn = size - 1n;
    let r = leafHash;
    for (const p of proof) {
      if (sn === 0n) return false; // step 4.1
      if ((fn & 1n) === 1n || fn === sn) {
        r = nodeHash(p, r); // step 4.2.1
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) { // step 4.2.2
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = nodeHash(r, p); // step 4.3
      }
      fn >>= 1n; // step 4.4
      sn >>= 1n;
    }
    return sn === 0n && bytesEqual(r, root); // step 5
  } catch {
    return false;
  }
}

export function verifyConsistency(
  size1: Size,
  size2: Size,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  try {
    const m = toSize(size1);
    const n = toSize(size2);
    if (m === null || n === null || m === 0n || m > n) return false;
    if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array) || !Array.isArray(proof)) return false;
    // RFC 9162 §2.1.4.2 step 1: equal sizes need an empty proof and equal roots (compared as given,
    // as transparency-dev/merkle does)
    if (m === n) return proof.length === 0 && bytesEqual(root1, root2);
    if (root1.length !== HASH_LENGTH || root2.length !== HASH_LENGTH || !allHashes(proof)) return false;
    if (proof.length === 0) return false;
    // step 2: if first_size is an exact power of 2, prepend first_hash to the proof
    const path = (m & (m - 1n)) === 0n ? [root1, ...proof] : [...proof];
    let fn = m - 1n; // step 3
    let sn = n - 1n;
    while ((fn & 1n) === 1n) { // step 4
      fn >>= 1n;
      sn >>= 1n;
    }
    let fr = path[0]!; // step 5
    let sr = path[0]!;
    for (const c of path.slice(1)) { // step 6
      if (sn === 0n) return false; // step 6.1
      if ((fn & 1n) === 1n || fn === sn) {
        fr = nodeHash(c, fr); // step 6.2.1
        sr = nodeHash(c, sr);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) { // step 6.2.2
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        sr = nodeHash(sr, c); // step 6.3
      }
      fn >>= 1n; // step 6.4
      sn >>= 1n;
    }
    return bytesEqual(fr, root1) && bytesEqual(sr, root2) && sn === 0n; // step 7
  } catch {
    return false;
  }
}
