// LedgerStore on SQLite (better-sqlite3): WAL, synchronous=FULL, so a committed append survives power loss
// (https://www.sqlite.org/pragma.html#pragma_synchronous). u64 sequence numbers are stored as 8-byte
// big-endian BLOBs: SQLite INTEGER is signed 64-bit, and BLOBs compare by memcmp, so order is kept.
import Database from 'better-sqlite3';
import { LedgerError } from './errors.js';
import { SCHEMA, SCHEMA_VERSION, readers, writers } from './sqlite-schema.js';
import {
  COUNTERS,
  type AnchorRow, type AppendEffect, type AppendRequest, type AuthPassRow, type BindingRow, type LedgerStore,
  type MeterRow, type MeterSummary, type StoredCheckpoint,
} from './store.js';

function u64Blob(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

function blobU64(b: Buffer): bigint {
  return b.readBigUInt64BE(0);
}

type Row = Record<string, unknown>;

/** A BLOB column as a plain Uint8Array (better-sqlite3 returns Buffers; no copy). */
function bytes(v: unknown): Uint8Array {
  const b = v as Buffer;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

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
    firstSeq: blobU64(r.first_seq as Buffer),
    leafIndex: r.leaf_index as bigint,
  };
}

function anchorRow(r: Row): AnchorRow {
  return {
    meterId: r.meter_id as string,
    seq: blobU64(r.seq as Buffer),
    leafIndex: r.leaf_index as bigint,
    readingHash: bytes(r.reading_hash),
    keyId: bytes(r.key_id),
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

  constructor(readonly path: string, options: SqliteStoreOptions = {}) {
    this.readonly = options.readonly ?? false;
    this.db = new Database(path, { readonly: this.readonly, fileMustExist: this.readonly });
    try {
      this.db.defaultSafeIntegers(true);
      if (!options.readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = FULL');
        this.db.exec(SCHEMA);
        const v = this.db.prepare('SELECT value FROM meta WHERE key = ?').get('schema_version') as Row | undefined;
        if (v === undefined) this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema_version', SCHEMA_VERSION);
        else if (v.value !== SCHEMA_VERSION) throw new LedgerError('STORE_MISMATCH', `${path}: schema version ${String(v.value)}, expected ${SCHEMA_VERSION}`);
      }
      this.db.pragma('busy_timeout = 5000');
      this.q = readers(this.db);
      this.size = this.readSize();
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  private readSize(): bigint {
    const m = (this.q.maxIdx.get() as Row).m as bigint | null;
    return m === null ? 0n : m + 1n;
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
    const r = this.q.node.get(level, index) as Row | undefined;
    if (!r) throw new LedgerError('STORE_CORRUPT', `Merkle node (level ${level}, index ${index}) is missing from ${this.path}`);
    return bytes(r.hash);
  }

  getEntry(index: bigint): Uint8Array | undefined {
    const r = this.q.entry.get(index) as Row | undefined;
    return r && bytes(r.entry);
  }

  getNodes(level: number, from: bigint, count: number): Uint8Array[] {
    const rows = this.q.nodeRange.all(level, from, from + BigInt(count)) as Row[];
    if (rows.length !== count) {
      throw new LedgerError('STORE_CORRUPT', `Merkle nodes (level ${level}, indexes ${from}..${from + BigInt(count) - 1n}): ${rows.length} of ${count} in ${this.path}`);
    }
    return rows.map((r) => bytes(r.hash));
  }

  getEntries(from: bigint, count: number): Uint8Array[] {
    const rows = this.q.entryRange.all(from, from + BigInt(count)) as Row[];
    if (rows.length !== count) {
      throw new LedgerError('STORE_CORRUPT', `entries ${from}..${from + BigInt(count) - 1n}: ${rows.length} of ${count} in ${this.path}`);
    }
    return rows.map((r) => bytes(r.entry));
  }

  private w?: ReturnType<typeof writers>;

  private writers() {
    return (this.w ??= writers(this.db));
  }

  private applyEffect(idx: bigint, e: AppendEffect): void {
    const w = this.writers();
    switch (e.kind) {
      case 'registration': {
        const m = e.meter;
        w.meter.run(m.meterId, m.identityPublicKey, idx, m.registeredAtMs, m.certificate, m.certificateSignature);
        w.counter.run(COUNTERS.registrations, 1);
        return;
      }
      case 'auth':
        if (e.passed) w.authPass.run(idx, e.meterId, e.atMs);
        w.counter.run(e.passed ? COUNTERS.authPassed : COUNTERS.authFailed, 1);
        return;
      case 'binding': {
        const b = e.binding;
        if (w.useAuth.run(idx, e.authLeafIndex).changes !== 1) {
          throw new LedgerError('STORE_APPEND_RACE', `authentication at leaf ${e.authLeafIndex} is unknown or already used`);
        }
        w.binding.run(b.meterId, b.keyId, b.sessionPublicKey, u64Blob(b.firstSeq), idx);
        w.counter.run(COUNTERS.bindings, 1);
        return;
      }
      case 'anchor': {
        const a = e.anchor;
        w.anchor.run(a.meterId, u64Blob(a.seq), idx, a.readingHash, a.keyId);
        w.counter.run(COUNTERS.anchored, 1);
        return;
      }
    }
  }

  append(req: AppendRequest): void {
    const w = this.writers();
    this.db.transaction(() => {
      // Read under the write lock (BEGIN IMMEDIATE): another process on the same file cannot slip in.
      const size = this.readSize();
      if (req.index !== size || size !== this.size) {
        throw new LedgerError('STORE_APPEND_RACE', `append at index ${req.index} but the tree has ${size} entries`);
      }
      w.entry.run(req.index, req.entry, req.leafHash);
      for (const n of req.nodes) w.node.run(n.level, n.index, n.hash);
      this.applyEffect(req.index, req.effect);
    }).immediate();
    this.size = req.index + 1n;
  }

  getMeter(meterId: string): MeterRow | undefined {
    const r = this.q.meter.get(meterId) as Row | undefined;
    return r && meterRow(r);
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
    const r = this.q.anchor.get(meterId, u64Blob(seq)) as Row | undefined;
    return r && anchorRow(r);
  }

  anchorsInRange(meterId: string, from: bigint, to: bigint, limit: number): AnchorRow[] {
    return (this.q.anchorRange.all(meterId, u64Blob(from), u64Blob(to), limit) as Row[]).map(anchorRow);
  }

  maxAnchoredSeq(meterId: string): bigint | undefined {
    const m = (this.q.maxSeq.get(meterId) as Row).m as Buffer | null;
    return m === null ? undefined : blobU64(m);
  }

  getCheckpoint(): StoredCheckpoint | undefined {
    const r = this.q.checkpoint.get() as Row | undefined;
    return r && { size: r.size as bigint, note: r.note as string };
  }

  putCheckpoint(c: StoredCheckpoint): void {
    this.writers().checkpoint.run(c.size, c.note);
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
