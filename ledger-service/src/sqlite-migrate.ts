// Schema version 1 → 2 (sqlite-schema.ts): anchor entries kept as their parts, Merkle nodes only at the
// tile levels, no stored leaf hashes. Run once, in one transaction, when a version-1 ledger database is
// opened for writing. Every anchor entry goes through AnchorRows.insert, which refuses it unless the row
// re-encodes to exactly the stored entry, so the log — and with it every leaf hash, node, root and signed
// checkpoint — is byte for byte what it was. Then VACUUM gives the freed pages back.
import type Database from 'better-sqlite3';
import { TILE_HEIGHT } from '@meterseal/protocol';
import { AnchorRows, bytes } from './sqlite-anchors.js';
import { SCHEMA, SCHEMA_VERSION, readers, writers } from './sqlite-schema.js';

type Row = Record<string, unknown>;
const CHUNK = 10_000n;

export function migrateFromV1(db: Database.Database): void {
  db.transaction(() => {
    db.exec('ALTER TABLE entries RENAME TO entries_v1; ALTER TABLE anchors RENAME TO anchors_v1; ALTER TABLE nodes RENAME TO nodes_v1;');
    db.exec(SCHEMA);
    const w = writers(db);
    const rows = new AnchorRows(readers(db), () => w, false);
    const chunk = db.prepare('SELECT idx, entry FROM entries_v1 WHERE idx >= ? AND idx < ? ORDER BY idx');
    const anchorAt = db.prepare('SELECT meter_id, seq, reading_hash, key_id FROM anchors_v1 WHERE leaf_index = ?');
    const end = (((db.prepare('SELECT MAX(idx) AS m FROM entries_v1').get() as Row).m as bigint | null) ?? -1n) + 1n;
    for (let from = 0n; from < end; from += CHUNK) {
      for (const r of chunk.all(from, from + CHUNK) as Row[]) {
        const idx = r.idx as bigint;
        const a = anchorAt.get(idx) as Row | undefined;
        if (!a) w.entry.run(idx, r.entry);
        else {
          const anchor = { meterId: a.meter_id as string, seq: (a.seq as Buffer).readBigUInt64BE(0), readingHash: bytes(a.reading_hash), keyId: bytes(a.key_id) };
          rows.insert(idx, bytes(r.entry), anchor);
        }
      }
    }
    db.exec(`INSERT INTO nodes (level, idx, hash) SELECT level, idx, hash FROM nodes_v1 WHERE level > 0 AND level % ${TILE_HEIGHT} = 0;
             DROP TABLE entries_v1; DROP TABLE anchors_v1; DROP TABLE nodes_v1;`);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(SCHEMA_VERSION);
  }).immediate();
  db.exec('VACUUM');
}
