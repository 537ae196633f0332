// The per-meter index on SQLite (docs/ledger.md §Per-meter index): for every meter the compact right edge
// of its meter tree (RFC 9162 tree over its anchors in seq order, protocol/src/meter-index.ts), updated in
// the SAME transaction as the anchors (group commit: one row write per meter touched by the group), and the
// index leaves (tree size and root, key-events size and root) cached in memory for the checkpoints.
// An anchor below the meter's highest seq (a late retransmission) cannot be appended to a seq-ordered tree:
// that meter's edge is rebuilt from its anchors in the same transaction (rare; a meter's tree is small).
import type Database from 'better-sqlite3';
import {
  EMPTY_EDGE, compareMeterIds, decodeEdge, edgeAppendInPlace, edgeRoot, encodeEdge, keyEventsRoot, leafHash, meterLeafHash,
  type CompactEdge, type KeyEvent, type MeterIndexLeaf,
} from '@meterseal/protocol';
import { bytes } from './sqlite-anchors.js';
import type { AnchorRow } from './store.js';

type Row = Record<string, unknown>;

export const METER_INDEX_SCHEMA = `
CREATE TABLE IF NOT EXISTS meter_trees (meter INTEGER PRIMARY KEY, size INTEGER NOT NULL, edge BLOB NOT NULL);
`;

/** Where a meter's operator events (revocations, approved exchanges: revocation-events.ts) come from. */
export type RevocationSource = (meterId: string) => Extract<KeyEvent, { kind: 'operator' }>[];

interface TreeState {
  edge: CompactEdge;
  lastSeq: bigint | undefined;
  rebuild: boolean;
}

export interface MeterIndexDeps {
  db: Database.Database;
  writer: boolean;
  /** The interned number of a meter's anchors (undefined: no anchors yet). */
  meterNum(meterId: string): bigint | undefined;
  /** An anchors row as an AnchorRow. */
  row(r: Row): AnchorRow;
}

/** Meter ids whose index leaf may have changed (or that joined the index) since the holder last took them. */
export class IndexChanges {
  private ids = new Set<string>();
  add(id: string): void {
    this.ids.add(id);
  }
  take(): Set<string> {
    const out = this.ids;
    this.ids = new Set();
    return out;
  }
}

export class SqliteMeterIndex {
  private readonly trees = new Map<bigint, TreeState>();
  private readonly touched = new Set<bigint>();
  private readonly leafCache = new Map<string, MeterIndexLeaf>();
  private readonly dirtyIds = new Set<string>();
  /** Holders of IndexChanges (LedgerLog's index tree); weak, so a dropped log stops collecting. */
  private readonly watchers = new Set<WeakRef<IndexChanges>>();
  private readonly q;
  private w?: { put: Database.Statement };
  revocations: RevocationSource = () => [];

  constructor(private readonly d: MeterIndexDeps) {
    const has = (name: string): boolean => d.db.prepare('SELECT 1 FROM sqlite_schema WHERE name = ?').get(name) !== undefined;
    if (d.writer) d.db.exec(METER_INDEX_SCHEMA);
    const p = (sql: string) => d.db.prepare(sql);
    this.q = {
      tree: has('meter_trees') ? p('SELECT size, edge FROM meter_trees WHERE meter = ?') : undefined,
      lastSeq: p('SELECT seq FROM anchors WHERE meter = ? ORDER BY seq DESC LIMIT 1'),
      all: p('SELECT * FROM anchors WHERE meter = ? ORDER BY seq'),
      at: p('SELECT * FROM anchors WHERE meter = ? ORDER BY seq LIMIT ? OFFSET ?'),
      ids: p('SELECT meter_id FROM meters UNION SELECT meter_id FROM anchor_meters'),
      member: p('SELECT 1 FROM meters WHERE meter_id = ? UNION ALL SELECT 1 FROM anchor_meters WHERE meter_id = ? LIMIT 1'),
      bindings: p('SELECT * FROM bindings WHERE meter_id = ? ORDER BY leaf_index'),
    };
  }

  private fromAnchors(num: bigint): CompactEdge {
    const edge: CompactEdge = { size: 0n, hashes: [] };
    for (const r of this.q.all.iterate(num) as IterableIterator<Row>) edgeAppendInPlace(edge, meterLeafHash(this.d.row(r)));
    return edge;
  }

  private state(num: bigint): TreeState {
    const cached = this.trees.get(num);
    if (cached) return cached;
    const r = this.q.tree?.get(num) as Row | undefined;
    // No row: a meter anchored before the index existed (or none yet): built from its anchors.
    const edge = r ? decodeEdge(r.size as bigint, bytes(r.edge)) : this.fromAnchors(num);
    const last = this.q.lastSeq.get(num) as Row | undefined;
    const s: TreeState = { edge, lastSeq: last === undefined ? undefined : seqOf(last.seq), rebuild: false };
    if (this.d.writer) {
      this.trees.set(num, s);
      if (r === undefined && edge.size > 0n) this.touched.add(num); // written with the next group
    }
    return s;
  }

  /**
   * An anchor appended inside the caller's transaction (after its row was inserted). `record`, if given,
   * must be encodeAnchor(a) (the store has checked the entry starts with it): hashed without re-encoding.
   */
  onAnchor(num: bigint, a: AnchorRow | Omit<AnchorRow, 'leafIndex'>, record?: Uint8Array): void {
    const s = this.state(num);
    if (!s.rebuild && (s.lastSeq === undefined || a.seq > s.lastSeq)) {
      if (s.edge === EMPTY_EDGE) s.edge = { size: 0n, hashes: [] };
      edgeAppendInPlace(s.edge, record ? leafHash(record) : meterLeafHash(a)); // seq order: an append; RFC 9162 §2.1.1 leaf
    }
    else s.rebuild = true;
    if (s.lastSeq === undefined || a.seq > s.lastSeq) s.lastSeq = a.seq;
    this.touched.add(num);
    this.dirtyIds.add(a.meterId);
  }

  /** A key event (binding, revocation) of the meter was appended. */
  onKeyEvent(meterId: string): void {
    this.dirtyIds.add(meterId);
  }

  /** Writes the touched meters' edges (inside the caller's transaction). */
  flush(): void {
    this.w ??= { put: this.d.db.prepare('INSERT INTO meter_trees (meter, size, edge) VALUES (?, ?, ?) ON CONFLICT (meter) DO UPDATE SET size = excluded.size, edge = excluded.edge') };
    for (const num of this.touched) {
      const s = this.state(num);
      if (s.rebuild) {
        s.edge = this.fromAnchors(num);
        s.rebuild = false;
      }
      this.w.put.run(num, s.edge.size, encodeEdge(s.edge));
    }
    this.touched.clear();
  }

  /** A meter registered (it joins the index) or had its registration replaced. */
  onMeter(meterId: string): void {
    this.dirtyIds.add(meterId);
  }

  /** After commit: the cached index leaves of the meters touched are stale, and every watcher learns their ids. */
  committed(): void {
    const live: IndexChanges[] = [];
    for (const w of this.watchers) {
      const c = w.deref();
      if (c) live.push(c);
      else this.watchers.delete(w);
    }
    for (const id of this.dirtyIds) {
      this.leafCache.delete(id);
      for (const c of live) c.add(id);
    }
    this.dirtyIds.clear();
  }

  /**
   * From now on, the ids of the meters whose index leaf each commit may change (writer only: a read-only view
   * does not see another connection's commits; undefined).
   */
  watch(): IndexChanges | undefined {
    if (!this.d.writer) return undefined;
    const c = new IndexChanges();
    this.watchers.add(new WeakRef(c));
    return c;
  }

  /** The meter's index leaf, or null if it is not in the index (neither registered nor anchoring). */
  leafIfMember(meterId: string): MeterIndexLeaf | null {
    return this.q.member.get(meterId, meterId) === undefined ? null : this.leaf(meterId);
  }

  /** After a rollback: forget every cached edge and leaf. */
  forget(): void {
    this.trees.clear();
    this.touched.clear();
    this.leafCache.clear();
    this.dirtyIds.clear();
  }

  keyEvents(meterId: string): KeyEvent[] {
    const bindings: KeyEvent[] = (this.q.bindings.all(meterId) as Row[]).map((r) => bindingEvent(meterId, r));
    return [...bindings, ...this.revocations(meterId)].sort(byLeafIndex);
  }

  leaf(meterId: string): MeterIndexLeaf {
    const hit = this.d.writer ? this.leafCache.get(meterId) : undefined;
    if (hit) return hit;
    const num = this.d.meterNum(meterId);
    const edge = num === undefined ? EMPTY_EDGE : this.state(num).edge;
    const events = this.keyEvents(meterId);
    const leaf = { meterId, treeSize: edge.size, treeRoot: edgeRoot(edge), keyEventsSize: BigInt(events.length), keyEventsRoot: keyEventsRoot(events) };
    if (this.d.writer) this.leafCache.set(meterId, leaf);
    return leaf;
  }

  /** Every registered or anchoring meter's id, sorted (compareMeterIds). */
  ids(): string[] {
    return (this.q.ids.all() as Row[]).map((r) => r.meter_id as string).sort(compareMeterIds);
  }

  /** Every registered or anchoring meter's leaf, sorted by meter id. */
  leaves(): MeterIndexLeaf[] {
    return this.leavesOf(this.ids());
  }

  /**
   * The leaves of `ids`: a run of consecutive ids of ids() (all indexed ids between its first and last). One ordered
   * range scan of the bindings and of the anchoring meters' edges, merged with the ids (SQLite's BINARY order of the
   * ASCII ids, meter-id.ts, is compareMeterIds), instead of 3–5 queries per meter; the leaves are leaf(id)'s.
   * `cache` false: the writer's leaf cache is neither read nor filled (a staged log's index, period-prepare.ts).
   */
  leavesOf(ids: readonly string[], cache = true): MeterIndexLeaf[] {
    if (ids.length === 0) return [];
    if (!this.q.tree) return ids.map((id) => this.leaf(id)); // a read-only view of a store without meter_trees
    const p = (sql: string) => this.d.db.prepare(sql);
    const range = [ids[0]!, ids[ids.length - 1]!];
    const binding = merged(p('SELECT * FROM bindings WHERE meter_id BETWEEN ? AND ? ORDER BY meter_id, leaf_index').iterate(...range) as IterableIterator<Row>);
    const edge = merged(p('SELECT a.meter_id, a.num, t.size, t.edge FROM anchor_meters a LEFT JOIN meter_trees t ON t.meter = a.num WHERE a.meter_id BETWEEN ? AND ? ORDER BY a.meter_id').iterate(...range) as IterableIterator<Row>);
    const hasEvents = p("SELECT 1 FROM sqlite_schema WHERE name = 'meter_events'").get() !== undefined;
    const operated = new Set(hasEvents ? (p('SELECT DISTINCT meter_id FROM meter_events WHERE meter_id BETWEEN ? AND ?').all(...range) as Row[]).map((r) => r.meter_id as string) : []);
    const cached = cache && this.d.writer;
    try {
      return ids.map((meterId) => (cached && this.leafCache.get(meterId)) || this.scannedLeaf(meterId, binding.take(meterId), edge.take(meterId)[0], operated, cached));
    } finally {
      binding.close();
      edge.close();
    }
  }

  private scannedLeaf(meterId: string, bindings: Row[], anchored: Row | undefined, operated: ReadonlySet<string>, cache: boolean): MeterIndexLeaf {
    let e: CompactEdge = EMPTY_EDGE;
    if (anchored) {
      const num = anchored.num as bigint;
      const cached = this.trees.get(num);
      e = cached ? cached.edge : anchored.edge === null ? this.state(num).edge : decodeEdge(anchored.size as bigint, bytes(anchored.edge));
    }
    const events = bindings.map((r) => bindingEvent(meterId, r));
    if (operated.has(meterId)) events.push(...this.revocations(meterId)), events.sort(byLeafIndex);
    const leaf = { meterId, treeSize: e.size, treeRoot: edgeRoot(e), keyEventsSize: BigInt(events.length), keyEventsRoot: keyEventsRoot(events) };
    if (cache) this.leafCache.set(meterId, leaf);
    return leaf;
  }

  /** Anchors at positions start … start+count−1 of the meter's tree (seq order). */
  meterLeaves(meterId: string, start: bigint, count: number): AnchorRow[] {
    const num = this.d.meterNum(meterId);
    if (num === undefined || count <= 0) return [];
    return (this.q.at.all(num, count, start) as Row[]).map((r) => this.d.row(r));
  }
}

function bindingEvent(meterId: string, r: Row): KeyEvent {
  return {
    kind: 'binding',
    meterId,
    keyId: bytes(r.key_id),
    sessionPublicKey: bytes(r.session_pub),
    firstSeq: (r.first_seq as Buffer).readBigUInt64BE(0),
    leafIndex: r.leaf_index as bigint,
  };
}

const byLeafIndex = (a: KeyEvent, b: KeyEvent): number => (a.leafIndex < b.leafIndex ? -1 : a.leafIndex > b.leafIndex ? 1 : 0);

/**
 * A merge cursor over rows ordered by meter_id: each call with the next id (ascending) returns that id's rows;
 * rows of ids passed over belong to no indexed meter (a binding of an unregistered meter) and are skipped, as the
 * per-meter reads never see them.
 */
function merged(rows: IterableIterator<Row>): { take: (meterId: string) => Row[]; close: () => void } {
  let next = rows.next();
  const take = (meterId: string): Row[] => {
    const out: Row[] = [];
    while (!next.done && compareMeterIds(next.value.meter_id as string, meterId) <= 0) {
      if (next.value.meter_id === meterId) out.push(next.value);
      next = rows.next();
    }
    return out;
  };
  return { take, close: () => void rows.return?.() };
}

function seqOf(v: unknown): bigint {
  return typeof v === 'bigint' ? v : (v as Buffer).readBigUInt64BE(0);
}
