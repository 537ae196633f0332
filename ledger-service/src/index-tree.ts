// The per-meter index tree kept between checkpoints (docs/ledger.md §Sizing, "updated by path, not rebuilt"):
// the RFC 9162 §2.1.1 tree over the index leaves sorted by meter id (protocol/src/meter-index.ts), held as its
// perfect subtrees. MTH(D[n]) = H(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])), k the largest power of two < n, so the
// tree of n leaves is the perfect subtrees of n's binary decomposition (largest first), folded from the right.
// Immutable and persistent: an update copies the paths from the changed leaves to their block roots (O(log n)
// hashes per changed leaf) and shares every other node, so an IndexTree handed out for an earlier checkpoint
// stays exactly what it was. A new or removed meter shifts every position after it: the tree is rebuilt from
// that position (subtrees wholly before it are shared), O(n − position) hashes — registrations are rare.
import { EMPTY_ROOT, compareMeterIds, indexLeafHash, nodeHash, type MeterIndexLeaf } from '@meterseal/protocol';
import { LedgerError } from './errors.js';

interface Node {
  hash: Uint8Array;
  /** The greatest meter id under this node (its last leaf's). */
  last: string;
  left?: Node;
  right?: Node;
  leaf?: MeterIndexLeaf;
}

function leafNode(leaf: MeterIndexLeaf, hash = indexLeafHash(leaf)): Node {
  return { hash, last: leaf.meterId, leaf }; // RFC 9162 §2.1.1 leaf hash of the index leaf
}

function join(left: Node, right: Node): Node {
  return { hash: nodeHash(left.hash, right.hash), last: right.last, left, right }; // RFC 9162 §2.1.1 0x01 ‖ left ‖ right
}

/** The perfect tree over leaves[from, from + 2^h). */
function build(leaves: readonly Node[], from: number, h: number): Node {
  if (h === 0) return leaves[from]!;
  return join(build(leaves, from, h - 1), build(leaves, from + 2 ** (h - 1), h - 1));
}

/** Heights of the perfect subtrees of a tree of n leaves, largest first (n's binary decomposition). */
function heights(n: number): number[] {
  const out: number[] = [];
  for (let h = 52; h >= 0; h--) if (Math.floor(n / 2 ** h) % 2 === 1) out.push(h);
  return out;
}

export class IndexTree {
  private rootHash?: Uint8Array;
  /** Block i covers leaves [st[i], st[i] + 2^hs[i]). */
  private readonly hs: number[];
  private readonly st: number[] = [];

  private constructor(
    readonly count: number,
    /** The perfect subtrees, largest first. */
    private readonly blocks: readonly Node[],
  ) {
    this.hs = heights(count);
    let at = 0;
    for (const h of this.hs) this.st.push(at), (at += 2 ** h);
  }

  static readonly EMPTY = new IndexTree(0, []);

  /** The tree over leaves that must be sorted by meter id, each id once (else INDEX_ORDER). O(n) hashes. */
  static of(leaves: readonly MeterIndexLeaf[]): IndexTree {
    for (let i = 1; i < leaves.length; i++) {
      if (compareMeterIds(leaves[i - 1]!.meterId, leaves[i]!.meterId) >= 0) throw new LedgerError('STORE_CORRUPT', `index leaves are not sorted by meter id at ${i}`);
    }
    return IndexTree.EMPTY.rebuiltFrom(0, leaves.map((l) => leafNode(l)));
  }

  /** The tree of `count` leaves held as `blocks` (n's binary decomposition, largest first): IndexTreeBuilder's. */
  static ofBlocks(count: number, blocks: readonly Node[]): IndexTree {
    return new IndexTree(count, blocks);
  }

  /** MTH of all leaves (RFC 9162 §2.1.1; the empty tree's is SHA-256 of nothing). */
  root(): Uint8Array {
    if (this.rootHash) return this.rootHash;
    if (this.blocks.length === 0) return (this.rootHash = EMPTY_ROOT);
    let r = this.blocks[this.blocks.length - 1]!.hash;
    for (let i = this.blocks.length - 2; i >= 0; i--) r = nodeHash(this.blocks[i]!.hash, r); // MTH(D[0:k]) ‖ MTH(D[k:n])
    return (this.rootHash = r);
  }

  /** The node of the aligned perfect subtree [start, start + 2^h), which must lie within the tree. */
  private nodeAt(start: number, h: number): Node {
    for (let i = 0; i < this.blocks.length; i++) {
      const bh = this.hs[i]!;
      if (start >= this.st[i]! + 2 ** bh) continue;
      let n = this.blocks[i]!;
      let lo = this.st[i]!;
      for (let level = bh; level > h; level--) {
        const half = 2 ** (level - 1);
        if (start < lo + half) n = n.left!;
        else (n = n.right!), (lo += half);
      }
      return n;
    }
    throw new LedgerError('INTERNAL', `no index node [${start}, +2^${h}) in a tree of ${this.count}`);
  }

  private leafNodeAt(position: number): Node {
    if (!Number.isInteger(position) || position < 0 || position >= this.count) throw new LedgerError('OUT_OF_RANGE', `no index leaf ${position} among ${this.count}`);
    return this.nodeAt(position, 0);
  }

  leaf(position: number): MeterIndexLeaf {
    return this.leafNodeAt(position).leaf!;
  }

  leafHash(position: number): Uint8Array {
    return this.leafNodeAt(position).hash;
  }

  /** The position of the meter's leaf, or −1. O(log n). */
  position(meterId: string): number {
    let lo = 0;
    for (const [i, b] of this.blocks.entries()) {
      const size = 2 ** this.hs[i]!;
      if (compareMeterIds(meterId, b.last) <= 0) {
        let n = b;
        for (let half = size / 2; n.leaf === undefined; half /= 2) {
          if (compareMeterIds(meterId, n.left!.last) <= 0) n = n.left!;
          else (n = n.right!), (lo += half);
        }
        return n.leaf.meterId === meterId ? lo : -1;
      }
      lo += size;
    }
    return -1;
  }

  /** Leaves [from, to) in order. */
  leaves(from = 0, to = this.count): MeterIndexLeaf[] {
    return this.nodes(from, to).map((n) => n.leaf!);
  }

  /** RFC 9162 §2.1.1 hashes of leaves [from, to). */
  leafHashes(from = 0, to = this.count): Uint8Array[] {
    return this.nodes(from, to).map((n) => n.hash);
  }

  private nodes(from: number, to: number): Node[] {
    const out: Node[] = [];
    const walk = (n: Node, lo: number, size: number): void => {
      if (lo + size <= from || lo >= to) return;
      if (size === 1) return void out.push(n);
      walk(n.left!, lo, size / 2);
      walk(n.right!, lo + size / 2, size / 2);
    };
    this.blocks.forEach((b, i) => walk(b, this.st[i]!, 2 ** this.hs[i]!));
    return out;
  }

  /** PATH(position, D[n]) — RFC 9162 §2.1.3.1, the same bytes as protocol indexInclusionProof. O(log n). */
  proof(position: number): Uint8Array[] {
    this.leafNodeAt(position);
    const i = this.st.findLastIndex((s) => s <= position);
    const inside: Uint8Array[] = [];
    let n = this.blocks[i]!;
    let lo = this.st[i]!;
    for (let half = 2 ** this.hs[i]! / 2; half >= 1; half /= 2) {
      if (position < lo + half) inside.push(n.right!.hash), (n = n.left!);
      else inside.push(n.left!.hash), (n = n.right!), (lo += half);
    }
    const path = inside.reverse(); // the deepest sibling first
    if (i < this.blocks.length - 1) {
      let r = this.blocks[this.blocks.length - 1]!.hash; // MTH(D[k:n]) of the blocks right of this one
      for (let j = this.blocks.length - 2; j > i; j--) r = nodeHash(this.blocks[j]!.hash, r);
      path.push(r);
    }
    for (let j = i - 1; j >= 0; j--) path.push(this.blocks[j]!.hash); // MTH(D[0:k]) of each larger block to the left
    return path;
  }

  /**
   * The tree after `changed` (meter id → its leaf now, or null: no longer in the index). Existing meters whose
   * leaves changed: path copies, O(changed × log n) hashes. New or removed meters: rebuilt from the first
   * such position, O(n − position) hashes.
   */
  update(changed: ReadonlyMap<string, MeterIndexLeaf | null>): IndexTree {
    const inPlace: Array<[number, Node]> = [];
    const moved: Array<[string, MeterIndexLeaf | null]> = [];
    for (const [id, leaf] of changed) {
      if (leaf && leaf.meterId !== id) throw new LedgerError('INTERNAL', `index leaf of ${leaf.meterId} given for ${id}`);
      const at = this.position(id);
      if (at >= 0 && leaf) inPlace.push([at, leafNode(leaf)]);
      else if (at >= 0 || leaf) moved.push([id, leaf]);
    }
    inPlace.sort((a, b) => a[0] - b[0]);
    let blocks = this.blocks;
    if (inPlace.length > 0) {
      blocks = this.blocks.map((b, i) => {
        const lo = this.st[i]!;
        const size = 2 ** this.hs[i]!;
        return setLeaves(b, lo, size, inPlace, lowerBound(inPlace, lo, 0, inPlace.length), lowerBound(inPlace, lo + size, 0, inPlace.length));
      });
    }
    const next = blocks === this.blocks ? this : new IndexTree(this.count, blocks);
    if (moved.length === 0) return next;
    moved.sort((a, b) => compareMeterIds(a[0], b[0]));
    // the first position that shifts: where the smallest new or removed id is (or would be)
    let from = this.count;
    for (const [id] of moved) from = Math.min(from, next.lowerBoundId(id));
    const tail: Node[] = [];
    const old = next.nodes(from, next.count);
    let m = 0;
    for (const n of old) {
      while (m < moved.length && compareMeterIds(moved[m]![0], n.last) < 0) pushLeaf(tail, moved[m++]![1]);
      if (m < moved.length && moved[m]![0] === n.last) pushLeaf(tail, moved[m++]![1]);
      else tail.push(n);
    }
    while (m < moved.length) pushLeaf(tail, moved[m++]![1]);
    return next.rebuiltFrom(from, tail);
  }

  /** The position of the first leaf whose id is ≥ meterId (count if none). */
  private lowerBoundId(meterId: string): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareMeterIds(this.leafNodeAt(mid).last, meterId) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The tree whose leaves are this one's [0, from) followed by `tail`: nodes wholly before `from` are shared. */
  private rebuiltFrom(from: number, tail: readonly Node[]): IndexTree {
    const count = from + tail.length;
    const make = (start: number, h: number): Node => {
      const size = 2 ** h;
      if (start + size <= from) return this.nodeAt(start, h); // unchanged leaves: the same node
      if (start >= from) return build(tail, start - from, h);
      return join(make(start, h - 1), make(start + size / 2, h - 1));
    };
    const blocks: Node[] = [];
    let at = 0;
    for (const h of heights(count)) blocks.push(make(at, h)), (at += 2 ** h);
    return new IndexTree(count, blocks);
  }
}

/**
 * Builds an IndexTree from leaves pushed one slice at a time in meter-id order (a staged log's index, built during
 * the preparation: period-prepare.ts). Holds the perfect subtrees of the count so far (its binary decomposition,
 * largest first); a push joins equal heights, 2 hashes per leaf amortized. tree() gives exactly IndexTree.of's tree.
 */
export class IndexTreeBuilder {
  private readonly stack: Node[] = [];
  private readonly hs: number[] = [];
  private count = 0;
  private lastId?: string;

  push(leaf: MeterIndexLeaf): void {
    if (this.lastId !== undefined && compareMeterIds(this.lastId, leaf.meterId) >= 0) throw new LedgerError('STORE_CORRUPT', `index leaves are not sorted by meter id at ${this.count}`);
    this.lastId = leaf.meterId;
    let n = leafNode(leaf);
    let h = 0;
    while (this.hs.length > 0 && this.hs[this.hs.length - 1] === h) {
      this.hs.pop();
      n = join(this.stack.pop()!, n); // two perfect subtrees of 2^h leaves: MTH of their 2^(h+1), RFC 9162 §2.1.1
      h++;
    }
    this.stack.push(n);
    this.hs.push(h);
    this.count++;
  }

  tree(): IndexTree {
    return IndexTree.ofBlocks(this.count, [...this.stack]);
  }
}

function pushLeaf(out: Node[], leaf: MeterIndexLeaf | null): void {
  if (leaf) out.push(leafNode(leaf));
}

/** The first i in [lo, hi) with sorted[i] at or after `position` (hi if none). */
function lowerBound(sorted: ReadonlyArray<[number, Node]>, position: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]![0] < position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The perfect subtree `n` over [lo, lo + size) with leaves ups[a, b) replaced: path copies, the rest shared. */
function setLeaves(n: Node, lo: number, size: number, ups: ReadonlyArray<[number, Node]>, a: number, b: number): Node {
  if (a >= b) return n;
  if (size === 1) return ups[b - 1]![1];
  const mid = lo + size / 2;
  const split = lowerBound(ups, mid, a, b);
  return join(setLeaves(n.left!, lo, size / 2, ups, a, split), setLeaves(n.right!, mid, size / 2, ups, split, b));
}
