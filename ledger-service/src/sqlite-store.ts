// LedgerStore on SQLite (better-sqlite3): WAL, synchronous=FULL, so a committed append survives power loss
// (https://www.sqlite.org/pragma.html#pragma_synchronous). appendBatch writes any number of entries in ONE
// transaction — one fsync for the whole group (group commit, anchor-ingest.ts). Anchor entries are kept as
// their parts (sqlite-anchors.ts), Merkle nodes only at tile levels (merkle-nodes.ts); see sqlite-schema.ts.
import Database from 'better-sqlite3';
import { SIGNATURE_LENGTH, type MeterIndexLeaf } from '@meterseal/protocol';
import { LedgerError } from './errors.js';
import { MerkleNodes } from './merkle-nodes.js';
import { SqliteMeterIndex } from './meter-index.js';
import { replaceMeterRow, SqliteMeterEvents, type MeterEventRow } from './revocation-events.js';
import { AnchorRows, bytes } from './sqlite-anchors.js';
import { SqliteCosignatures } from './cosignature-store.js';
import { migrateFromV1 } from './sqlite-migrate.js';
import { SCHEMA, SCHEMA_VERSION, readers, writers } from './sqlite-schema.js';
import {
  COUNTERS,
  type AnchorRow, type AppendEffect, type AppendRequest, type AuthPassRow, type BindingRow, type LedgerStore,
  type MeterRow, type MeterSummary, type StoredCheckpoint, type StoredCosignature,
} from './store.js';

function u64Blob(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

type Row = Record<string, unknown>;

function meterRow(r: Row): MeterRow {
  return {
    meterId: r.meter_id as string,
    identityPublicKey: bytes(r.identity_pub),
    registrationIndex: r.registration_index as bigint,
    registeredAtMs: Number(r.registered_at_ms),
    certificate: bytes(r.certificate),
    certificateSignature: bytes(r.certificate_sig),
  };
}

function bindingRow(r: Row): BindingRow {
  return {
    meterId: r.meter_id as string,
    keyId: bytes(r.key_id),
    sessionPublicKey: bytes(r.session_pub),
    firstSeq: (r.first_seq as Buffer).readBigUInt64BE(0),
    leafIndex: r.leaf_index as bigint,
  };
}

export interface SqliteStoreOptions {
  /** Open an existing database for reading only (e.g. an auditor or a test beside a running ledger). */
  readonly?: boolean;
}

export class SqliteStore implements LedgerStore {
  readonly backend = 'sqlite';
  private readonly db: Database.Database;
  private size: bigint;
  private readonly readonly: boolean;
  private readonly q: ReturnType<typeof readers>;
  private w?: ReturnType<typeof writers>;
  private readonly anchors: AnchorRows;
  private readonly merkle: MerkleNodes;
  /** The per-meter index (meter-index.ts), kept in the appends' transactions. */
  readonly meterIndex: SqliteMeterIndex;
  private readonly meterEventRows: SqliteMeterEvents;
  private cosigs?: SqliteCosignatures;

  constructor(readonly path: string, options: SqliteStoreOptions = {}) {
    this.readonly = options.readonly ?? false;
    this.db = new Database(path, { readonly: this.readonly, fileMustExist: this.readonly });
    try {
      this.db.defaultSafeIntegers(true);
      if (!options.readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = FULL');
        const v = this.db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'meta'").get()
          ? (this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as Row | undefined)
          : undefined;
        if (v?.value === '1') migrateFromV1(this.db);
        else if (v !== undefined && v.value !== SCHEMA_VERSION) {
          throw new LedgerError('STORE_MISMATCH', `${path}: schema version ${String(v.value)}, expected ${SCHEMA_VERSION}`);
        }
        this.db.exec(SCHEMA);
        if (v === undefined) this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema_version', SCHEMA_VERSION);
      }
      this.db.pragma('busy_timeout = 5000');
      const version = (this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as Row | undefined)?.value;
      if (version !== SCHEMA_VERSION) {
        throw new LedgerError('STORE_MISMATCH', `${path}: schema version ${String(version)}, expected ${SCHEMA_VERSION} (a ledger opening it for writing migrates version 1)`);
      }
      this.q = readers(this.db);
      this.anchors = new AnchorRows(this.q, () => this.writers(), !this.readonly);
      this.meterEventRows = new SqliteMeterEvents(this.db, !this.readonly);
      this.meterIndex = new SqliteMeterIndex({ db: this.db, writer: !this.readonly, meterNum: (id) => this.anchors.meterNum(id), row: (r) => this.anchors.row(r) });
      this.meterIndex.revocations = (id) => this.meterEvents(id).map((m) => ({
        kind: 'operator', meterId: id, event: m.event, identityKeyId: m.identityKeyId, leafIndex: m.leafIndex,
        ...(m.newIdentityPublicKey ? { newIdentityPublicKey: m.newIdentityPublicKey } : {}),
      }));
      this.size = this.readSize();
      this.merkle = new MerkleNodes({
        path,
        size: () => this.treeSize(),
        entries: (from, count) => this.getEntries(from, count),
        storedNodes: (level, from, count) => this.storedNodes(level, from, count),
      });
      if (!this.readonly) this.merkle.loadEdge();
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  private readSize(): bigint {
    const m = (this.q.maxIdx.get() as Row).m as bigint | null;
    return m === null ? 0n : m + 1n;
  }

  private writers() {
    return (this.w ??= writers(this.db));
  }

  getMeta(key: string): string | undefined {
    return (this.q.getMeta.get(key) as Row | undefined)?.value as string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.q.setMeta().run(key, value);
  }

  /** Cached for the (single) writer; a read-only view follows the writer. */
  treeSize(): bigint {
    return this.readonly ? this.readSize() : this.size;
  }

  getNode(level: number, index: bigint): Uint8Array {
    return this.merkle.getNode(level, index);
  }

  getNodes(level: number, from: bigint, count: number): Uint8Array[] {
    return this.merkle.getNodes(level, from, count);
  }

  private storedNodes(level: number, from: bigint, count: number): Uint8Array[] {
    const rows = (count === 1 ? [this.q.node.get(level, from)].filter(Boolean) : this.q.nodeRange.all(level, from, from + BigInt(count))) as Row[];
    if (rows.length !== count) {
      throw new LedgerError('STORE_CORRUPT', `Merkle nodes (level ${level}, indexes ${from}..${from + BigInt(count) - 1n}): ${rows.length} of ${count} in ${this.path}`);
    }
    return rows.map((r) => bytes(r.hash));
  }

  getEntry(index: bigint): Uint8Array | undefined {
    const a = this.q.anchorAt.get(index) as Row | undefined;
    if (a) return this.anchors.entry(a);
    const r = this.q.entry.get(index) as Row | undefined;
    return r && bytes(r.entry);
  }

  getEntries(from: bigint, count: number): Uint8Array[] {
    const out: Uint8Array[] = new Array<Uint8Array>(count);
    const to = from + BigInt(count);
    let found = 0;
    for (const r of this.q.entryRange.all(from, to) as Row[]) (out[Number((r.idx as bigint) - from)] = bytes(r.entry)), found++;
    for (const r of this.q.anchorRangeByIdx.all(from, to) as Row[]) (out[Number((r.idx as bigint) - from)] = this.anchors.entry(r)), found++;
    if (found !== count) throw new LedgerError('STORE_CORRUPT', `entries ${from}..${to - 1n}: ${found} of ${count} in ${this.path}`);
    return out;
  }

  private applyEffect(idx: bigint, e: AppendEffect, counts: Map<string, number>): void {
    const w = this.writers();
    const count = (name: string): void => void counts.set(name, (counts.get(name) ?? 0) + 1);
    switch (e.kind) {
      case 'registration': {
        const m = e.meter;
        this.meterIndex.onMeter(m.meterId); // it joins the per-meter index (meter-index.ts)
        if (e.exchange) return replaceMeterRow(this.db, idx, m), count(COUNTERS.registrations);
        w.meter.run(m.meterId, m.identityPublicKey, idx, m.registeredAtMs, m.certificate, m.certificateSignature);
        return count(COUNTERS.registrations);
      }
      case 'auth':
        if (e.passed) w.authPass.run(idx, e.meterId, e.atMs);
        return count(e.passed ? COUNTERS.authPassed : COUNTERS.authFailed);
      case 'binding': {
        const b = e.binding;
        if (w.useAuth.run(idx, e.authLeafIndex).changes !== 1) {
          throw new LedgerError('STORE_APPEND_RACE', `authentication at leaf ${e.authLeafIndex} is unknown or already used`);
        }
        w.binding.run(b.meterId, b.keyId, b.sessionPublicKey, u64Blob(b.firstSeq), idx);
        this.meterIndex.onKeyEvent(b.meterId);
        return count(COUNTERS.bindings);
      }
      case 'auth-summary':
        counts.set(COUNTERS.authFailed, (counts.get(COUNTERS.authFailed) ?? 0) + e.failures);
        return count('auth.summaries');
      case 'meter-event':
        this.meterEventRows.insert(idx, e.event);
        this.meterIndex.onKeyEvent(e.event.meterId); // a key event of the meter's index leaf (docs/ledger.md)
        return count(`operator.${e.event.event}`);
      case 'anchor':
        return count(COUNTERS.anchored); // the row itself is the entry (sqlite-anchors.ts)
      case 'previous-log':
        return count('period.rotations'); // entry 0 of a period's log (period-set.ts)
      case 'carried-binding': {
        const b = e.binding; // a copy of the meter's latest binding, carried into a new period's log (period-carry.ts)
        w.binding.run(b.meterId, b.keyId, b.sessionPublicKey, u64Blob(b.firstSeq), idx);
        this.meterIndex.onKeyEvent(b.meterId);
        return count('period.carried-bindings');
      }
    }
  }

  append(req: AppendRequest): void {
    this.appendBatch([req]);
  }

  appendBatch(reqs: readonly AppendRequest[]): void {
    if (reqs.length === 0) return;
    const w = this.writers();
    try {
      this.db.transaction(() => {
        // Read under the write lock (BEGIN IMMEDIATE): another process on the same file cannot slip in.
        const size = this.readSize();
        if (size !== this.size) throw new LedgerError('STORE_APPEND_RACE', `the tree has ${size} entries on disk but ${this.size} in memory`);
        const counts = new Map<string, number>();
        let index = size;
        for (const req of reqs) {
          if (req.index !== index) throw new LedgerError('STORE_APPEND_RACE', `append at index ${req.index} but the tree has ${index} entries`);
          if (req.effect.kind === 'anchor') {
            this.anchors.insert(index, req.entry, req.effect.anchor);
            // the entry is the signed anchor: its first bytes are the anchor record (checked by insert), the meter-tree leaf
            this.meterIndex.onAnchor(this.anchors.meterNum(req.effect.anchor.meterId)!, req.effect.anchor, req.entry.subarray(0, req.entry.length - SIGNATURE_LENGTH));
          }          else w.entry.run(index, req.entry);
          this.applyEffect(index, req.effect, counts);
          for (const n of this.merkle.append(index, req.entry)) w.node.run(n.level, n.index, n.hash);
          index++;
        }
        for (const [name, n] of counts) w.counter.run(name, n);
        this.meterIndex.flush();
      }).immediate();
      this.meterIndex.committed();
    } catch (err) {
      // Rolled back: forget numbers interned and Merkle edge moved inside the transaction.
      this.anchors.forget();
      this.meterIndex.forget();
      this.merkle.loadEdge();
      throw err;
    }
    this.size += BigInt(reqs.length);
  }

  /**
   * Replaces leaf 0's entry of a log staged ahead (period-prepare.ts: a placeholder until the boundary, when
   * the PreviousLog committing the closed log's final checkpoint is known) and, in the same transaction, the
   * stored Merkle nodes of the tree's left edge (MerkleNodes.rewriteLeftEdge). Refused once a checkpoint has
   * been signed: a signed tree never changes. Leaf 0 must not be an anchor.
   */
  replaceLeafZero(entry: Uint8Array): void {
    if (this.getCheckpoint()) throw new LedgerError('STORE_MISMATCH', `${this.path}: a checkpoint is signed; leaf 0 cannot be replaced`);
    try {
      this.db.transaction(() => {
        if (this.db.prepare('UPDATE entries SET entry = ? WHERE idx = 0').run(entry).changes !== 1) {
          throw new LedgerError('STORE_MISMATCH', `${this.path}: no non-anchor entry 0 to replace`);
        }
        const node = this.db.prepare('UPDATE nodes SET hash = ? WHERE level = ? AND idx = 0');
        this.merkle.rewriteLeftEdge((level, hash) => {
          if (node.run(hash, level).changes !== 1) throw new LedgerError('STORE_CORRUPT', `${this.path}: Merkle node (level ${level}, index 0) is missing`);
        });
      }).immediate();
    } catch (err) {
      this.merkle.reset(); // nodes computed from the rolled-back entry 0 are forgotten
      throw err;
    }
    this.merkle.reset(); // after the commit, from the rows as they are now
  }

  /**
   * Holds a read transaction open on this connection: every read until the returned release sees the
   * database as it was at this call (a WAL snapshot, https://www.sqlite.org/isolation.html), while the
   * writer's connection goes on appending. For a read-only view (period-prepare.ts reads a consistent key
   * state over many turns of the event loop).
   */
  holdSnapshot(): () => void {
    if (!this.readonly) throw new LedgerError('INTERNAL', `${this.path}: a snapshot is held on a read-only view only`);
    this.db.exec('BEGIN');
    this.readSize(); // the first read starts the read transaction: the snapshot is taken here
    return () => {
      if (this.db.open && this.db.inTransaction) this.db.exec('COMMIT');
    };
  }

  getMeter(meterId: string): MeterRow | undefined {
    const r = this.q.meter.get(meterId) as Row | undefined;
    return r && meterRow(r);
  }

  meterEvents(meterId: string): MeterEventRow[] {
    return this.meterEventRows.list(meterId);
  }

  listMeters(): MeterSummary[] {
    return (this.q.meters.all() as Row[]).map((r) => ({
      meterId: r.meter_id as string,
      registeredAtMs: Number(r.registered_at_ms),
      bindings: Number(r.n),
    }));
  }

  getBinding(meterId: string, keyId: Uint8Array): BindingRow | undefined {
    const r = this.q.binding.get(meterId, keyId) as Row | undefined;
    return r && bindingRow(r);
  }

  nextBinding(meterId: string, b: Pick<BindingRow, 'firstSeq' | 'leafIndex'>): BindingRow | undefined {
    const first = u64Blob(b.firstSeq);
    const r = this.q.nextBinding.get(meterId, first, first, b.leafIndex) as Row | undefined;
    return r && bindingRow(r);
  }

  latestBinding(meterId: string): BindingRow | undefined {
    const r = this.q.latestBinding.get(meterId) as Row | undefined;
    return r && bindingRow(r);
  }

  unusedAuthPass(meterId: string, sinceMs: number): AuthPassRow | undefined {
    const r = this.q.unusedAuth.get(meterId, sinceMs) as Row | undefined;
    return r && { leafIndex: r.leaf_index as bigint, meterId: r.meter_id as string, atMs: Number(r.at_ms) };
  }

  getAnchor(meterId: string, seq: bigint): AnchorRow | undefined {
    return this.anchors.get(meterId, seq);
  }

  anchorsInRange(meterId: string, from: bigint, to: bigint, limit: number): AnchorRow[] {
    return this.anchors.inRange(meterId, from, to, limit);
  }

  maxAnchoredSeq(meterId: string): bigint | undefined {
    return this.anchors.maxSeq(meterId);
  }

  meterIndexLeaves(): MeterIndexLeaf[] {
    return this.meterIndex.leaves();
  }

  meterLeaves(meterId: string, start: bigint, count: number): AnchorRow[] {
    return this.meterIndex.meterLeaves(meterId, start, count);
  }

  getCheckpoint(): StoredCheckpoint | undefined {
    const r = this.q.checkpoint.get() as Row | undefined;
    return r && { size: r.size as bigint, note: r.note as string };
  }

  putCheckpoint(c: StoredCheckpoint): void {
    this.writers().checkpoint.run(c.size, c.note);
  }

  putCosignature(c: StoredCosignature): void {
    (this.cosigs ??= new SqliteCosignatures(this.db)).put(c);
  }

  getCosignatures(size: bigint): StoredCosignature[] {
    return (this.cosigs ??= new SqliteCosignatures(this.db)).forSize(size);
  }

  cosignedSizes(limit: number): bigint[] {
    return (this.cosigs ??= new SqliteCosignatures(this.db)).sizes(limit);
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.q.counters.all() as Row[]) out[r.name as string] = Number(r.value);
    return out;
  }

  addCounters(deltas: Record<string, number>): void {
    const w = this.writers();
    this.db.transaction(() => {
      for (const [name, n] of Object.entries(deltas)) if (n !== 0) w.counter.run(name, n);
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Opens (creating if needed) the ledger database at `path`. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(path, options);
}
