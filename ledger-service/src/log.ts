// The append-only log (docs/protocol.md §10): RFC 9162 §2.1 Merkle tree over the entries in the store,
// C2SP tlog-checkpoints signed as C2SP signed notes, inclusion and consistency proofs. Every Merkle
// computation is the protocol package's; this file only wires it to the store.
import {
  INDEX_EXTENSION, consistencyProof, formatIndexExtension, inclusionProof, rootAt, signCheckpoint, type MeterIndexLeaf, type NoteSigner,
} from '@meterseal/protocol';
import { LedgerError } from './errors.js';
import { IndexSnapshot } from './index-tree-snapshot.js';
import { IndexTree } from './index-tree.js';
import type { IndexChanges } from './meter-index.js';
import { SqliteStore } from './sqlite-store.js';
import type { AppendEffect, LedgerStore, StoredCheckpoint } from './store.js';

export { IndexSnapshot } from './index-tree-snapshot.js';

export interface PendingEntry {
  entry: Uint8Array;
  effect: AppendEffect;
}

export interface LedgerLogOptions {
  /**
   * Keep the per-meter index tree between checkpoints and update it by path (index-tree.ts; default true). False:
   * every checkpoint rebuilds it from all the meters' leaves, O(meters) (the reference in index-tree-measure.ts).
   */
  incrementalIndex?: boolean;
  /**
   * The index tree of this store built ahead (a prepared period log, period-prepare.ts) and the meters whose leaves
   * may have changed since it was built: the first checkpoint updates it by path instead of building from all leaves.
   * It must be the tree over the store's leaves then; used only with the by-path update (a writer SqliteStore).
   */
  indexTree?: { tree: IndexTree; changed: Iterable<string> };
}

/**
 * How many recent index snapshots are kept by size, so a receipt against a recent (quorum-cosigned) checkpoint
 * proves its key status in O(log M) instead of rebuilding the index at that size. Snapshots share every node
 * not on a changed path (index-tree.ts), so each costs only the paths changed since the one before.
 */
export const KEPT_INDEX_SNAPSHOTS = 8;

export class LedgerLog {
  private snapshot?: IndexSnapshot;
  private readonly kept = new Map<bigint, IndexSnapshot>();
  /** The index tree of the last snapshot and the meters changed since (a writer SqliteStore only). */
  private tree?: IndexTree;
  private changes?: IndexChanges;

  constructor(
    private readonly store: LedgerStore,
    readonly origin: string,
    private readonly signer: NoteSigner,
    private readonly options: LedgerLogOptions = {},
  ) {
    const seed = options.indexTree;
    const changes = seed && options.incrementalIndex !== false && store instanceof SqliteStore ? store.meterIndex.watch() : undefined;
    if (seed && changes) {
      for (const id of seed.changed) changes.add(id);
      this.changes = changes; // from now on every commit's meters join the changed ones
      this.tree = seed.tree;
    }
  }

  get size(): bigint {
    return this.store.treeSize();
  }

  /**
   * Appends one entry with its index rows, atomically, and returns its leaf index. Synchronous: nothing
   * can interleave between reading the size and the commit. `expectedIndex` guards entries that name
   * their own index (a certificate's registrationIndex).
   */
  append(entry: Uint8Array, effect: AppendEffect, expectedIndex?: bigint): bigint {
    const index = this.store.treeSize();
    if (expectedIndex !== undefined && expectedIndex !== index) {
      throw new LedgerError('STORE_APPEND_RACE', `expected to append at ${expectedIndex} but the log has ${index} entries`);
    }
    this.store.append({ index, entry, effect }); // the store hashes the leaf, RFC 9162 §2.1.1
    return index;
  }

  /**
   * Appends entries in order in ONE durable transaction (group commit) and returns the leaf index of the
   * first; entry i gets first + i. All or nothing: when it throws, nothing was appended.
   */
  appendBatch(entries: readonly PendingEntry[]): bigint {
    const first = this.store.treeSize();
    this.store.appendBatch(entries.map((e, i) => ({ index: first + BigInt(i), entry: e.entry, effect: e.effect })));
    return first;
  }

  entry(index: bigint): Uint8Array | undefined {
    return this.store.getEntry(index);
  }

  /** MTH of the first `size` entries (RFC 9162 §2.1.1). */
  root(size: bigint = this.size): Uint8Array {
    return rootAt(this.store, size);
  }

  /** The latest signed checkpoint, made (for the current size) if there is none yet. */
  latestCheckpoint(): StoredCheckpoint {
    return this.store.getCheckpoint() ?? this.checkpointNow();
  }

  /**
   * A signed checkpoint for the current tree size: the stored one if the tree has not grown since,
   * otherwise a new one, stored. Ed25519 is deterministic and the body has no timestamp, so a size has
   * exactly one checkpoint text.
   */
  checkpointNow(): StoredCheckpoint {
    const size = this.size;
    const last = this.store.getCheckpoint();
    if (last && last.size === size && last.note.includes(`\n${INDEX_EXTENSION} `)) return last;
    if (last && last.size > size) {
      throw new LedgerError('STORE_CORRUPT', `stored checkpoint is for size ${last.size} but the log has ${size} entries`);
    }
    // c2sp.org/tlog-checkpoint: origin, decimal size, base64 root; signed as a c2sp.org/signed-note
    // c2sp.org/tlog-checkpoint: extension lines follow the root hash; ours commits the per-meter index
    const index = this.index();
    const extensions = [formatIndexExtension({ meters: BigInt(index.meters), root: index.root })];
    const note = signCheckpoint({ origin: this.origin, size, root: this.root(size), extensions }, this.signer);
    const c = { size, note };
    this.store.putCheckpoint(c);
    return c;
  }

  /**
   * The per-meter index at the current tree size (what checkpointNow commits); cached per size. Read it in
   * the same synchronous turn as the checkpoint it belongs to.
   */
  index(): IndexSnapshot {
    const size = this.size;
    if (this.snapshot?.size === size) return this.snapshot;
    this.snapshot = new IndexSnapshot(size, this.indexTree());
    this.kept.set(size, this.snapshot);
    if (this.kept.size > KEPT_INDEX_SNAPSHOTS) this.kept.delete(this.kept.keys().next().value!);
    return this.snapshot;
  }

  /** The index snapshot made at log size `size`, if it is one of the last KEPT_INDEX_SNAPSHOTS made. */
  keptIndex(size: bigint): IndexSnapshot | undefined {
    return this.kept.get(size);
  }

  /**
   * The index tree now. Kept between checkpoints when the store tells which meters each commit changed (a writer
   * SqliteStore): then only those meters' leaves are read and hashed up their paths (index-tree.ts). Otherwise, and
   * the first time (after a start: memory only), built from every meter's leaf, O(meters).
   */
  private indexTree(): IndexTree {
    const idx = this.options.incrementalIndex !== false && this.store instanceof SqliteStore ? this.store.meterIndex : undefined;
    if (idx && this.tree && this.changes) {
      const ids = this.changes.take();
      try {
        const changed = new Map<string, MeterIndexLeaf | null>();
        for (const id of ids) changed.set(id, idx.leafIfMember(id));
        return (this.tree = this.tree.update(changed));
      } catch (err) {
        this.tree = undefined; // the taken ids are lost with it: the next index is built from the store
        throw err;
      }
    }
    this.changes = idx?.watch(); // before the read: a commit after it is in the next update
    const tree = IndexTree.of(this.store.meterIndexLeaves());
    if (this.changes) this.tree = tree;
    return tree;
  }

  /** PATH(index, D[0:size]) — RFC 9162 §2.1.3.1. Requires index < size ≤ the tree size. */
  inclusionProof(index: bigint, size: bigint): Uint8Array[] {
    if (size > this.size) throw new LedgerError('OUT_OF_RANGE', `tree size ${size} exceeds the log's ${this.size}`);
    return inclusionProof(this.store, index, size);
  }

  /** PROOF(from, D[0:to]) — RFC 9162 §2.1.4.1. Requires 0 < from ≤ to ≤ the tree size. */
  consistencyProof(from: bigint, to: bigint): Uint8Array[] {
    if (to > this.size) throw new LedgerError('OUT_OF_RANGE', `tree size ${to} exceeds the log's ${this.size}`);
    return consistencyProof(this.store, from, to);
  }
}
