// A Merkle tree over stored complete-subtree nodes. Node (level L, index i) is the root of the perfect
// subtree over leaves [i·2^L, (i+1)·2^L); once written it never changes, so roots and proofs for any tree
// size need O(log n) node reads. Proof shapes follow RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1 (SUBPROOF).
import { ProtocolError } from '../errors.js';
import { EMPTY_ROOT, nodeHash, splitPoint } from './hashing.js';

export interface NodeReader {
  /** The hash of complete node (level, index); must exist for every node the tree size covers. */
  getNode(level: number, index: bigint): Uint8Array;
}

export interface MerkleNode {
  level: number;
  index: bigint;
  hash: Uint8Array;
}

/**
 * The nodes that become complete when leaf number `size` (0-based: the tree grows from size to size+1)
 * is appended: the leaf itself at level 0, then each parent whose right child it completes.
 */
export function nodesForAppend(reader: NodeReader, size: bigint, leafHash: Uint8Array): MerkleNode[] {
  const out: MerkleNode[] = [{ level: 0, index: size, hash: leafHash }];
  let index = size;
  let hash = leafHash;
  let level = 0;
  while ((index & 1n) === 1n) {
    hash = nodeHash(reader.getNode(level, index - 1n), hash);
    index >>= 1n;
    level += 1;
    out.push({ level, index, hash });
  }
  return out;
}

function isPow2(n: bigint): boolean {
  return n > 0n && (n & (n - 1n)) === 0n;
}

function log2(n: bigint): number {
  let l = 0;
  while (n > 1n) {
    n >>= 1n;
    l++;
  }
  return l;
}

/** MTH(D[start:end]) for a range that RFC 9162's recursion produces (start aligned to the left split). */
export function subtreeRoot(reader: NodeReader, start: bigint, end: bigint): Uint8Array {
  const n = end - start;
  if (n <= 0n) throw new ProtocolError('MERKLE_RANGE', `empty subtree [${start}, ${end})`);
  if (isPow2(n) && start % n === 0n) return reader.getNode(log2(n), start / n);
  const k = splitPoint(n);
  return nodeHash(subtreeRoot(reader, start, start + k), subtreeRoot(reader, start + k, end));
}

/** MTH over the first `size` leaves — RFC 9162 §2.1.1. */
export function rootAt(reader: NodeReader, size: bigint): Uint8Array {
  return size === 0n ? EMPTY_ROOT : subtreeRoot(reader, 0n, size);
}

/** PATH(m, D[0:size]) — RFC 9162 §2.1.3.1. */
export function inclusionProof(reader: NodeReader, index: bigint, size: bigint): Uint8Array[] {
  if (index < 0n || index >= size) throw new ProtocolError('MERKLE_RANGE', `leaf ${index} is not in a tree of size ${size}`);
  const path = (m: bigint, start: bigint, end: bigint): Uint8Array[] => {
    const n = end - start;
    if (n === 1n) return [];
    const k = splitPoint(n);
    if (m < k) return [...path(m, start, start + k), subtreeRoot(reader, start + k, end)];
    return [...path(m - k, start + k, end), subtreeRoot(reader, start, start + k)];
  };
  return path(index, 0n, size);
}

/** PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true) — RFC 9162 §2.1.4.1. */
export function consistencyProof(reader: NodeReader, size1: bigint, size2: bigint): Uint8Array[] {
  if (size1 <= 0n || size1 > size2) throw new ProtocolError('MERKLE_RANGE', `no consistency proof from ${size1} to ${size2}`);
  const subproof = (m: bigint, start: bigint, end: bigint, b: boolean): Uint8Array[] => {
    const n = end - start;
    if (m === n) return b ? [] : [subtreeRoot(reader, start, end)];
    const k = splitPoint(n);
    if (m <= k) return [...subproof(m, start, start + k, b), subtreeRoot(reader, start + k, end)];
    return [...subproof(m - k, start + k, end, false), subtreeRoot(reader, start, start + k)];
  };
  return subproof(size1, 0n, size2, true);
}

/** An in-memory tree: for tests, the demo's small trees, and as the reference for stored ones. */
export class MemoryTree implements NodeReader {
  private readonly nodes: Uint8Array[][] = [];
  private count = 0n;

  get size(): bigint {
    return this.count;
  }
  getNode(level: number, index: bigint): Uint8Array {
    const h = this.nodes[level]?.[Number(index)];
    if (!h) throw new ProtocolError('MERKLE_MISSING_NODE', `no node at level ${level} index ${index}`);
    return h;
  }
  append(leafHash: Uint8Array): bigint {
    for (const n of nodesForAppend(this, this.count, leafHash)) (this.nodes[n.level] ??= [])[Number(n.index)] = n.hash;
    return this.count++;
  }
  root(size: bigint = this.count): Uint8Array {
    return rootAt(this, size);
  }
}
