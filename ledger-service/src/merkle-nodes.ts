// The log's Merkle nodes (RFC 9162 §2.1: node (level L, index i) is the root of the perfect subtree over
// leaves [i·2^L, (i+1)·2^L)), kept sparsely: only the tile levels 8, 16, 24, … are stored — the hashes the
// c2sp.org/tlog-tiles API serves above level 0 — one row per 256 leaves. Leaf hashes are recomputed from the
// entries (RFC 9162 §2.1.1: SHA-256(0x00 ‖ entry)), any other level from the stored level below it (at most
// 128 hashes). The right edge of the tree (one hash per set bit of the size) is kept in memory, so an
// append reads nothing. Every hash is the protocol's leafHash / nodeHash / nodesForAppend.
import { TILE_HEIGHT, leafHash, nodeHash, nodesForAppend, type MerkleNode, type NodeReader } from '@meterseal/protocol';
import { LedgerError } from './errors.js';

/** What the sparse tree reads from storage. Both throw STORE_CORRUPT when a row is missing. */
export interface NodeRows {
  readonly path: string;
  size(): bigint;
  entries(from: bigint, count: number): Uint8Array[];
  /** Stored nodes of a tile level (a multiple of 8, above 0). */
  storedNodes(level: number, from: bigint, count: number): Uint8Array[];
}

/** Levels kept in storage: 8, 16, 24, … (tile level L ≥ 1 holds tree level 8·L). */
export function isStoredLevel(level: number): boolean {
  return level > 0 && level % TILE_HEIGHT === 0;
}

const CACHE_LIMIT = 4096;

export class MerkleNodes implements NodeReader {
  /** Right edge for `edgeSize` leaves: level → node (level, (edgeSize >> level) − 1), for each set bit. */
  private edge = new Map<number, Uint8Array>();
  private edgeSize = 0n;
  /** Computed nodes (complete nodes never change), least recently used first out. */
  private readonly cache = new Map<string, Uint8Array>();

  constructor(private readonly rows: NodeRows) {}

  /** Recomputes the right edge for the stored tree (at open, or after a failed transaction). */
  loadEdge(): void {
    this.edge = new Map();
    this.edgeSize = 0n;
    const size = this.rows.size();
    const edge = new Map<number, Uint8Array>();
    for (let level = 0; size >> BigInt(level) > 0n; level++) {
      if (((size >> BigInt(level)) & 1n) === 1n) edge.set(level, this.compute(level, (size >> BigInt(level)) - 1n));
    }
    this.edge = edge;
    this.edgeSize = size;
  }

  /**
   * Appends leaf number `size` (the tree grows from size to size+1): returns the nodes to store — those at
   * stored levels — and moves the right edge. Leaves must be appended in order.
   */
  append(size: bigint, entry: Uint8Array): MerkleNode[] {
    if (size !== this.edgeSize) throw new LedgerError('STORE_APPEND_RACE', `Merkle edge is at ${this.edgeSize}, not ${size}`);
    const nodes = nodesForAppend({ getNode: (level) => this.edge.get(level)! }, size, leafHash(entry)); // RFC 9162 §2.1.1
    const top = nodes[nodes.length - 1]!;
    for (let level = 0; level < top.level; level++) this.edge.delete(level);
    this.edge.set(top.level, top.hash);
    this.edgeSize = size + 1n;
    return nodes.filter((n) => isStoredLevel(n.level));
  }

  /** Drops every computed node and recomputes the right edge (after a rolled-back rewrite of leaf 0). */
  reset(): void {
    this.cache.clear();
    this.loadEdge();
  }

  /**
   * After leaf 0's entry was rewritten in storage (a period log staged ahead, period-prepare.ts): the stored
   * nodes whose subtree holds leaf 0 — node (L, 0) for each stored level L with 2^L ≤ size, one per tile level —
   * recomputed bottom up (RFC 9162 §2.1.1: MTH over [0, 2^L)), each from 256 hashes of the level below with
   * only the first one new; `write` stores each before the next is computed. The cache and the right edge are
   * dropped and recomputed (the edge holds a node with index 0 whenever a level's bit is the size's top bit).
   */
  rewriteLeftEdge(write: (level: number, hash: Uint8Array) => void): number {
    this.cache.clear();
    const size = this.rows.size();
    let below: Uint8Array | undefined;
    let written = 0;
    for (let level = TILE_HEIGHT; 1n << BigInt(level) <= size; level += TILE_HEIGHT) {
      const width = 1 << TILE_HEIGHT;
      let hashes = below === undefined
        ? this.rows.entries(0n, width).map((e) => leafHash(e))
        : [below, ...this.rows.storedNodes(level - TILE_HEIGHT, 1n, width - 1)];
      while (hashes.length > 1) hashes = Array.from({ length: hashes.length / 2 }, (_, i) => nodeHash(hashes[2 * i]!, hashes[2 * i + 1]!));
      below = hashes[0]!;
      write(level, below);
      written++;
    }
    this.loadEdge();
    return written;
  }

  getNode(level: number, index: bigint): Uint8Array {
    const size = this.rows.size();
    this.requireComplete(level, index, 1, size);
    return this.compute(level, index);
  }

  getNodes(level: number, from: bigint, count: number): Uint8Array[] {
    const size = this.rows.size();
    if (count === 0) return [];
    this.requireComplete(level, from, count, size);
    if (level === 0) return this.rows.entries(from, count).map((e) => leafHash(e));
    if (isStoredLevel(level)) return this.rows.storedNodes(level, from, count);
    return Array.from({ length: count }, (_, i) => this.compute(level, from + BigInt(i)));
  }

  private requireComplete(level: number, from: bigint, count: number, size: bigint): void {
    if (from < 0n || (from + BigInt(count)) << BigInt(level) > size) {
      const last = from + BigInt(count) - 1n;
      throw new LedgerError('STORE_CORRUPT', `Merkle node (level ${level}, index ${last}) is not complete in a tree of ${size} leaves in ${this.rows.path}`);
    }
  }

  /** Node (level, index), known to be complete at `size`. */
  private compute(level: number, index: bigint): Uint8Array {
    if (this.edgeSize >> BigInt(level) === index + 1n) {
      const e = this.edge.get(level);
      if (e) return e;
    }
    if (level === 0) return leafHash(this.rows.entries(index, 1)[0]!);
    if (isStoredLevel(level)) return this.rows.storedNodes(level, index, 1)[0]!;
    const key = `${level}/${index}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const base = level - (level % TILE_HEIGHT);
    const width = 1 << (level - base);
    let hashes = base === 0
      ? this.rows.entries(index * BigInt(width), width).map((e) => leafHash(e))
      : this.rows.storedNodes(base, index * BigInt(width), width);
    while (hashes.length > 1) hashes = Array.from({ length: hashes.length / 2 }, (_, i) => nodeHash(hashes[2 * i]!, hashes[2 * i + 1]!)); // RFC 9162 §2.1.1
    this.cache.set(key, hashes[0]!);
    if (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    return hashes[0]!;
  }
}
