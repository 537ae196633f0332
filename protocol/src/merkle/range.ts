// Subtrees, ranges and compact right edges of RFC 9162 trees, for trees small enough to hash from their
// leaves (a meter's tree, the per-meter index: docs/ledger.md). A node of the tree of size n is a range
// [start, end) that RFC 9162 §2.1.1's recursion MTH(D[0:n]) visits (k = largest power of two < length).
import { bytesEqual } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { EMPTY_ROOT, HASH_LENGTH, nodeHash, splitPoint } from './hashing.js';

/** MTH(D[start:end]) over leaf hashes held in memory — RFC 9162 §2.1.1. */
export function rootOfLeaves(leafHashes: readonly Uint8Array[], start = 0, end = leafHashes.length): Uint8Array {
  const n = end - start;
  if (n < 0 || start < 0 || end > leafHashes.length) throw new ProtocolError('MERKLE_RANGE', `no leaves [${start}, ${end}) in ${leafHashes.length}`);
  if (n === 0) return EMPTY_ROOT; // RFC 9162 §2.1.1: MTH({}) = SHA-256()
  if (n === 1) return leafHashes[start]!;
  const k = 1 << (31 - Math.clz32(n - 1)); // RFC 9162 §2.1.1: the largest power of two < n (arrays are < 2^31)
  return nodeHash(rootOfLeaves(leafHashes, start, start + k), rootOfLeaves(leafHashes, start + k, end)); // MTH(D[0:k]) ‖ MTH(D[k:n])
}

/** The two children of node [start, end) (end − start ≥ 2): RFC 9162 §2.1.1's split at the largest power of two < length. */
export function splitNode(start: bigint, end: bigint): bigint {
  if (end - start < 2n) throw new ProtocolError('MERKLE_RANGE', `node [${start}, ${end}) has no children`);
  return start + splitPoint(end - start);
}

/** True if [start, end) is a node of the RFC 9162 tree of `size` leaves (the root is [0, size)). */
export function isNode(start: bigint, end: bigint, size: bigint): boolean {
  if (start < 0n || end <= start || end > size) return false;
  let lo = 0n;
  let hi = size;
  for (;;) {
    if (lo === start && hi === end) return true;
    if (hi - lo < 2n) return false;
    const mid = splitNode(lo, hi);
    if (end <= mid) hi = mid;
    else if (start >= mid) lo = mid;
    else return false;
  }
}

/**
 * A range proof for leaves [start, end) of a tree of `size`: the hashes of the maximal nodes disjoint from
 * the range, in the order the RFC 9162 §2.1.1 recursion meets them. With the range's leaf hashes they give
 * the root (verifyRange). `nodeRoot(lo, hi)` must give MTH(D[lo:hi]).
 */
export function rangeProof(nodeRoot: (lo: bigint, hi: bigint) => Uint8Array, start: bigint, end: bigint, size: bigint): Uint8Array[] {
  if (start < 0n || end <= start || end > size) throw new ProtocolError('MERKLE_RANGE', `no range [${start}, ${end}) in a tree of ${size}`);
  const out: Uint8Array[] = [];
  const walk = (lo: bigint, hi: bigint): void => {
    if (hi <= start || lo >= end) return void out.push(nodeRoot(lo, hi));
    if (lo >= start && hi <= end) return;
    const mid = splitNode(lo, hi);
    walk(lo, mid);
    walk(mid, hi);
  };
  walk(0n, size);
  return out;
}

/** Recomputes the root from the leaf hashes of [start, start + leaves.length) and a rangeProof; false on any mismatch, never throws. */
export function verifyRange(leafHashes: readonly Uint8Array[], start: bigint, size: bigint, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  try {
    const end = start + BigInt(leafHashes.length);
    if (leafHashes.length === 0 || start < 0n || end > size || size >= 1n << 64n) return false;
    if (![...leafHashes, ...proof, root].every((h) => h instanceof Uint8Array && h.length === HASH_LENGTH)) return false;
    let p = 0;
    const walk = (lo: bigint, hi: bigint): Uint8Array => {
      if (hi <= start || lo >= end) {
        if (p >= proof.length) throw new ProtocolError('MERKLE_RANGE', 'proof too short');
        return proof[p++]!;
      }
      if (hi - lo === 1n) return leafHashes[Number(lo - start)]!;
      const mid = splitNode(lo, hi);
      return nodeHash(walk(lo, mid), walk(mid, hi)); // RFC 9162 §2.1.1
    };
    const r = walk(0n, size);
    return p === proof.length && bytesEqual(r, root);
  } catch {
    return false;
  }
}

/**
 * The compact right edge of a tree: one hash per set bit of the size, node (level, (size >> level) − 1),
 * listed from the highest level down. Appending a leaf touches O(log n) hashes; the root is their fold.
 */
export interface CompactEdge {
  size: bigint;
  /** Highest level first. */
  hashes: Uint8Array[];
}

export const EMPTY_EDGE: CompactEdge = { size: 0n, hashes: [] };

/** The edge after appending one leaf (RFC 9162 §2.1.1: a completed pair of equal subtrees merges into its parent). */
export function edgeAppend(edge: CompactEdge, leafHash: Uint8Array): CompactEdge {
  const copy = { size: edge.size, hashes: edge.hashes.slice() };
  edgeAppendInPlace(copy, leafHash);
  return copy;
}

/** edgeAppend, changing `edge` itself (the ledger's hot path: no copies). */
export function edgeAppendInPlace(edge: CompactEdge, leafHash: Uint8Array): void {
  let h = leafHash;
  let size = edge.size;
  while ((size & 1n) === 1n) {
    h = nodeHash(edge.hashes.pop()!, h);
    size >>= 1n;
  }
  edge.hashes.push(h);
  edge.size += 1n;
}

/** MTH of the tree the edge describes: the perfect subtrees folded right to left (RFC 9162 §2.1.1). */
export function edgeRoot(edge: CompactEdge): Uint8Array {
  if (edge.hashes.length === 0) return EMPTY_ROOT;
  let r = edge.hashes[edge.hashes.length - 1]!;
  for (let i = edge.hashes.length - 2; i >= 0; i--) r = nodeHash(edge.hashes[i]!, r);
  return r;
}

/** The edge as bytes (the hashes concatenated) and back; the size is kept beside it. */
export function encodeEdge(edge: CompactEdge): Uint8Array {
  const out = new Uint8Array(edge.hashes.length * HASH_LENGTH);
  edge.hashes.forEach((h, i) => out.set(h, i * HASH_LENGTH));
  return out;
}

export function decodeEdge(size: bigint, bytes: Uint8Array): CompactEdge {
  let bits = 0;
  for (let s = size; s > 0n; s >>= 1n) if ((s & 1n) === 1n) bits++;
  if (bytes.length !== bits * HASH_LENGTH) throw new ProtocolError('MERKLE_RANGE', `an edge of a ${size}-leaf tree has ${bits} hashes, not ${bytes.length / HASH_LENGTH}`);
  return { size, hashes: Array.from({ length: bits }, (_, i) => bytes.slice(i * HASH_LENGTH, (i + 1) * HASH_LENGTH)) };
}
