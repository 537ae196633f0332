// WitnessStore on SQLite (better-sqlite3): WAL, synchronous=FULL, so a head is on disk before the
// cosignature leaves (https://www.sqlite.org/pragma.html#pragma_synchronous). Sizes are u64, stored as
// 8-byte big-endian BLOBs (SQLite INTEGER is signed 64-bit). The database records the witness public key
// it belongs to, so it is never silently paired with another key.
import Database from 'better-sqlite3';
import { toHex } from '@meterseal/protocol';
import { WitnessError, describe } from './errors.js';
import type { CosignedHead, EvidenceRow, HeadUpdate, LedgerPosition, TreeHead, WitnessStore } from './store.js';

export const DB_FILE = 'witness.sqlite';
export const MAX_EVIDENCE_PER_ORIGIN = 1000;
const SCHEMA_VERSION = '1';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS heads (
  origin TEXT PRIMARY KEY, size BLOB NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL, cosigned_at_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS evidence (
  id INTEGER PRIMARY KEY, origin TEXT NOT NULL, reason TEXT NOT NULL, request TEXT NOT NULL, received_at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS evidence_by_origin ON evidence (origin, id);
CREATE TABLE IF NOT EXISTS ledgers (base TEXT PRIMARY KEY, origin TEXT NOT NULL, period TEXT NOT NULL) WITHOUT ROWID;
`; // ledgers: rotating ledgers' positions (added beside schema 1's tables: an older file gains it on open)

function u64Blob(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

type Row = Record<string, unknown>;

export class SqliteWitnessStore implements WitnessStore {
  private readonly db: Database.Database;
  private readonly q;

  /** Opens (creating if needed) the store at `path` for the witness key `publicKey`. */
  constructor(path: string, publicKey: Uint8Array) {
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
    } catch (cause) {
      throw new WitnessError('STORE_FAILED', `cannot open ${path}: ${describe(cause)}`, { cause });
    }
    const getMeta = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    const setMeta = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING');
    const pub = toHex(publicKey);
    this.db.transaction(() => {
      setMeta.run('schema_version', SCHEMA_VERSION);
      setMeta.run('witness_public_key', pub);
    }).immediate();
    const stored = getMeta.get('witness_public_key') as string;
    const version = getMeta.get('schema_version') as string;
    if (stored !== pub || version !== SCHEMA_VERSION) {
      this.db.close();
      throw new WitnessError('STORE_MISMATCH', stored !== pub
        ? `${path} belongs to witness key ${stored.slice(0, 16)}…, not to this witness.key (${pub.slice(0, 16)}…)`
        : `${path} has schema version ${version}; this witness reads ${SCHEMA_VERSION}`);
    }
    this.q = {
      latest: this.db.prepare('SELECT size, root, note, cosigned_at_ms FROM heads WHERE origin = ?'),
      insert: this.db.prepare('INSERT INTO heads (origin, size, root, note, cosigned_at_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO NOTHING'),
      update: this.db.prepare('UPDATE heads SET size = ?, root = ?, note = ?, cosigned_at_ms = ? WHERE origin = ? AND size = ? AND root = ?'),
      countEvidence: this.db.prepare('SELECT COUNT(*) FROM evidence WHERE origin = ?').pluck(),
      addEvidence: this.db.prepare('INSERT INTO evidence (origin, reason, request, received_at_ms) VALUES (?, ?, ?, ?)'),
      evidence: this.db.prepare('SELECT reason, request, received_at_ms FROM evidence WHERE origin = ? ORDER BY id'),
      position: this.db.prepare('SELECT origin, period FROM ledgers WHERE base = ?'),
      setPosition: this.db.prepare('INSERT INTO ledgers (base, origin, period) VALUES (?, ?, ?) ON CONFLICT (base) DO UPDATE SET origin = excluded.origin, period = excluded.period'),
    };
  }

  latest(origin: string): CosignedHead | null {
    const r = this.q.latest.get(origin) as Row | undefined;
    if (!r) return null;
    const size = r.size as Buffer;
    const root = r.root as Buffer;
    if (size.length !== 8 || root.length !== 32) throw new WitnessError('STORE_FAILED', `stored head of "${origin}" is corrupt`);
    return { size: size.readBigUInt64BE(0), root: new Uint8Array(root), note: r.note as string, cosignedAtMs: Number(r.cosigned_at_ms) };
  }

  advance(origin: string, expected: TreeHead | null, next: CosignedHead): boolean {
    // BEGIN IMMEDIATE: the compare and the set are one write transaction, also across processes
    return this.db.transaction((): boolean => this.setHead(origin, expected, next)).immediate();
  }

  private setHead(origin: string, expected: TreeHead | null, next: CosignedHead): boolean {
    const size = u64Blob(next.size);
    const root = Buffer.from(next.root);
    const r = expected === null
      ? this.q.insert.run(origin, size, root, next.note, next.cosignedAtMs)
      : this.q.update.run(size, root, next.note, next.cosignedAtMs, origin, u64Blob(expected.size), Buffer.from(expected.root));
    return r.changes === 1;
  }

  ledgerPosition(base: string): LedgerPosition | null {
    const r = this.q.position.get(base) as Row | undefined;
    return r ? { origin: r.origin as string, period: r.period as string } : null;
  }

  advanceLedger(base: string, expected: LedgerPosition | null, next: LedgerPosition, heads: readonly HeadUpdate[]): boolean {
    const conflict = new Error('conflict');
    try {
      this.db.transaction((): void => {
        const now = this.ledgerPosition(base);
        if (now?.origin !== expected?.origin || now?.period !== expected?.period) throw conflict;
        for (const h of heads) if (!this.setHead(h.origin, h.expected, h.next)) throw conflict; // rolls back the others
        this.q.setPosition.run(base, next.origin, next.period);
      }).immediate();
      return true;
    } catch (err) {
      if (err === conflict) return false;
      throw err;
    }
  }

  recordEvidence(e: EvidenceRow): void {
    this.db.transaction(() => {
      if ((this.q.countEvidence.get(e.origin) as number) >= MAX_EVIDENCE_PER_ORIGIN) return;
      this.q.addEvidence.run(e.origin, e.reason, e.request, e.receivedAtMs);
    }).immediate();
  }

  evidence(origin: string): EvidenceRow[] {
    return (this.q.evidence.all(origin) as Row[]).map((r) => ({
      origin, reason: r.reason as string, request: r.request as string, receivedAtMs: Number(r.received_at_ms),
    }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
