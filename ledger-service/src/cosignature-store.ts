// Witness cosignatures in the ledger's store (SQLite table `cosignatures`, sqlite-schema.ts): one row per
// (checkpoint size, witness vkey) holding the ledger's own signed checkpoint note and the witness's
// cosignature line(s) (c2sp.org/tlog-cosignature), so GET /checkpoint and receipts keep them across restarts.
// Only the newest KEEP_SIZES sizes are kept: a receipt needs the newest checkpoint that reached the quorum.
// Also: the quorum choice (newest checkpoint with at least `quorum` cosignatures by configured witnesses).
import type Database from 'better-sqlite3';
import type { LedgerStore, StoredCosignature } from './store.js';

/** How many checkpoint sizes keep their cosignatures. */
export const KEEP_SIZES = 256;

type Row = { size: bigint; witness: string; note: string; lines: string; at_ms: bigint | number };

export class SqliteCosignatures {
  private st?: {
    put: Database.Statement;
    bySize: Database.Statement;
    sizes: Database.Statement;
    prune: Database.Statement;
  };

  constructor(private readonly db: Database.Database) {}

  /** Prepared on first use, so that a read-only view of an older file without the table still opens. */
  private s() {
    return (this.st ??= {
      put: this.db.prepare(`INSERT INTO cosignatures (size, witness, note, lines, at_ms) VALUES (?, ?, ?, ?, ?)
                            ON CONFLICT (size, witness) DO UPDATE SET note = excluded.note, lines = excluded.lines, at_ms = excluded.at_ms`),
      bySize: this.db.prepare('SELECT * FROM cosignatures WHERE size = ? ORDER BY witness'),
      sizes: this.db.prepare('SELECT DISTINCT size FROM cosignatures ORDER BY size DESC LIMIT ?'),
      prune: this.db.prepare(`DELETE FROM cosignatures WHERE size < (
                                SELECT MIN(size) FROM (SELECT DISTINCT size FROM cosignatures ORDER BY size DESC LIMIT ?))`),
    });
  }

  put(c: StoredCosignature): void {
    const s = this.s();
    this.db.transaction(() => {
      s.put.run(c.size, c.witness, c.note, c.lines, c.atMs);
      s.prune.run(KEEP_SIZES);
    })();
  }

  forSize(size: bigint): StoredCosignature[] {
    return (this.s().bySize.all(size) as Row[]).map((r) => ({ size: BigInt(r.size), witness: r.witness, note: r.note, lines: r.lines, atMs: Number(r.at_ms) }));
  }

  sizes(limit: number): bigint[] {
    return (this.s().sizes.all(limit) as { size: bigint }[]).map((r) => BigInt(r.size));
  }
}

/**
 * The newest stored checkpoint with cosignatures by at least `quorum` of `witnesses` (vkeys, configuration
 * order) and a size above `minSize`, as the full note (ledger line, then the witnesses' lines); undefined if none.
 */
export function quorumCheckpoint(
  store: Pick<LedgerStore, 'cosignedSizes' | 'getCosignatures'>,
  witnesses: readonly string[],
  quorum: number,
  minSize = 0n,
): { size: bigint; note: string; cosigners: number } | undefined {
  for (const size of store.cosignedSizes(KEEP_SIZES)) {
    if (size <= minSize) return undefined;
    const rows = store.getCosignatures(size);
    const byWitness = new Map(rows.map((r) => [r.witness, r]));
    const present = witnesses.filter((w) => byWitness.has(w));
    if (present.length >= quorum && rows.length > 0) {
      return { size, note: rows[0]!.note + present.map((w) => byWitness.get(w)!.lines).join(''), cosigners: present.length };
    }
  }
  return undefined;
}
