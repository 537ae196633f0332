// The per-meter index a checkpoint commits (docs/ledger.md §Per-meter index), as the query API and receipts read
// it: one IndexTree (index-tree.ts), which never changes, so a snapshot of an earlier size stays correct for as
// long as anyone holds it. `leaves` and `leafHashes` are whole lists, built on first read (O(meters) then);
// leaf, position and proof are O(log meters).
import type { MeterIndexLeaf } from '@meterseal/protocol';
import type { IndexTree } from './index-tree.js';

export class IndexSnapshot {
  readonly root: Uint8Array;
  readonly meters: number;
  /** Every index leaf, sorted by meter id. */
  declare readonly leaves: MeterIndexLeaf[];
  /** RFC 9162 §2.1.1 leaf hashes of `leaves`. */
  declare readonly leafHashes: Uint8Array[];
  readonly #tree: IndexTree;

  constructor(
    /** The log size whose checkpoint commits this index. */
    readonly size: bigint,
    tree: IndexTree,
  ) {
    this.#tree = tree;
    this.root = tree.root();
    this.meters = tree.count;
    let leaves: MeterIndexLeaf[] | undefined;
    let hashes: Uint8Array[] | undefined;
    // own enumerable accessors: a structuredClone of the snapshot carries the lists
    Object.defineProperty(this, 'leaves', { enumerable: true, get: () => (leaves ??= tree.leaves()) });
    Object.defineProperty(this, 'leafHashes', { enumerable: true, get: () => (hashes ??= tree.leafHashes()) });
  }

  /** Leaves [start, start + count) (fewer at the end). */
  page(start: number, count: number): MeterIndexLeaf[] {
    const from = Math.min(start, this.meters);
    return this.#tree.leaves(from, Math.min(this.meters, from + count));
  }

  /** The meter's position in the index, or −1. */
  position(meterId: string): number {
    return this.#tree.position(meterId);
  }

  leaf(position: number): MeterIndexLeaf {
    return this.#tree.leaf(position);
  }

  /** PATH(position, index leaves) — RFC 9162 §2.1.3.1; the bytes of protocol indexInclusionProof. */
  proof(position: number): Uint8Array[] {
    return this.#tree.proof(position);
  }
}
