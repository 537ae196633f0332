// The SQLite schema of the ledger and its prepared statements (used by sqlite-store.ts).
//
// Storage per anchor is kept close to the signed anchor itself (docs/performance.md):
//   - an anchor entry is not stored verbatim but as its parts: the meter and session key id are per-meter
//     context (interned as small integers in anchor_meters / anchor_keys), the seq an integer, and the
//     reading hash ‖ signature (96 bytes) one BLOB; the entry is re-encoded on read (sqlite-anchors.ts) and an
//     append is refused unless that re-encoding gives back exactly the entry. Other entries are verbatim.
//   - the anchor row is also the anchors index: a rowid table keyed by leaf index (appends fill its pages)
//     with one UNIQUE index on (meter, seq) — nothing is stored twice but that index's key.
//   - Merkle nodes only at the tile levels 8, 16, … (merkle-nodes.ts), leaf hashes from the entries.
// u64 seqs: below 2^63 an INTEGER, from 2^63 an 8-byte big-endian BLOB (the column has no affinity). SQLite
// orders every INTEGER before every BLOB and BLOBs by memcmp, so u64 order is kept by the index. Binding
// firstSeqs are 8-byte big-endian BLOBs as before.
import type Database from 'better-sqlite3';

export const SCHEMA_VERSION = '2';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS anchors (idx INTEGER PRIMARY KEY, meter INTEGER NOT NULL, seq NOT NULL, key INTEGER NOT NULL, body BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS anchors_by_seq ON anchors (meter, seq);
CREATE TABLE IF NOT EXISTS anchor_meters (num INTEGER PRIMARY KEY, meter_id TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS anchor_keys (
  meter INTEGER NOT NULL, ord INTEGER NOT NULL, key_id BLOB NOT NULL, PRIMARY KEY (meter, ord), UNIQUE (meter, key_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nodes (
  level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meters (
  meter_id TEXT PRIMARY KEY, identity_pub BLOB NOT NULL, registration_index INTEGER NOT NULL UNIQUE,
  registered_at_ms INTEGER NOT NULL, certificate BLOB NOT NULL, certificate_sig BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bindings (
  meter_id TEXT NOT NULL, key_id BLOB NOT NULL, session_pub BLOB NOT NULL, first_seq BLOB NOT NULL,
  leaf_index INTEGER NOT NULL UNIQUE, PRIMARY KEY (meter_id, key_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bindings_by_first_seq ON bindings (meter_id, first_seq);
CREATE TABLE IF NOT EXISTS auth_passes (
  leaf_index INTEGER PRIMARY KEY, meter_id TEXT NOT NULL, at_ms INTEGER NOT NULL, bound_leaf INTEGER);
CREATE INDEX IF NOT EXISTS auth_passes_by_meter ON auth_passes (meter_id, at_ms);
CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cosignatures (
  size INTEGER NOT NULL, witness TEXT NOT NULL, note TEXT NOT NULL, lines TEXT NOT NULL, at_ms INTEGER NOT NULL,
  PRIMARY KEY (size, witness)) WITHOUT ROWID;
`;

/** Read statements (and setMeta, prepared on use so a read-only store can open). */
export function readers(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    getMeta: p('SELECT value FROM meta WHERE key = ?'),
    setMeta: (): Database.Statement => p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    maxIdx: p('SELECT MAX(m) AS m FROM (SELECT MAX(idx) AS m FROM entries UNION ALL SELECT MAX(idx) AS m FROM anchors)'),
    node: p('SELECT hash FROM nodes WHERE level = ? AND idx = ?'),
    nodeRange: p('SELECT hash FROM nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx'),
    entry: p('SELECT entry FROM entries WHERE idx = ?'),
    entryRange: p('SELECT idx, entry FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx'),
    anchorAt: p('SELECT * FROM anchors WHERE idx = ?'),
    anchorRangeByIdx: p('SELECT * FROM anchors WHERE idx >= ? AND idx < ? ORDER BY idx'),
    meterNum: p('SELECT num FROM anchor_meters WHERE meter_id = ?'),
    meterById: p('SELECT meter_id FROM anchor_meters WHERE num = ?'),
    keyOrd: p('SELECT ord FROM anchor_keys WHERE meter = ? AND key_id = ?'),
    keyByOrd: p('SELECT key_id FROM anchor_keys WHERE meter = ? AND ord = ?'),
    keyCount: p('SELECT COUNT(*) AS n FROM anchor_keys WHERE meter = ?'),
    meter: p('SELECT * FROM meters WHERE meter_id = ?'),
    meters: p(`SELECT m.meter_id, m.registered_at_ms, (SELECT COUNT(*) FROM bindings b WHERE b.meter_id = m.meter_id) AS n
               FROM meters m ORDER BY m.meter_id`),
    binding: p('SELECT * FROM bindings WHERE meter_id = ? AND key_id = ?'),
    nextBinding: p(`SELECT * FROM bindings WHERE meter_id = ? AND (first_seq > ? OR (first_seq = ? AND leaf_index > ?))
                    ORDER BY first_seq, leaf_index LIMIT 1`),
    latestBinding: p('SELECT * FROM bindings WHERE meter_id = ? ORDER BY first_seq DESC, leaf_index DESC LIMIT 1'),
    unusedAuth: p(`SELECT * FROM auth_passes WHERE meter_id = ? AND at_ms >= ? AND bound_leaf IS NULL
                   ORDER BY leaf_index DESC LIMIT 1`),
    anchor: p('SELECT * FROM anchors WHERE meter = ? AND seq = ?'),
    anchorRange: p('SELECT * FROM anchors WHERE meter = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?'),
    maxSeq: p('SELECT MAX(seq) AS m FROM anchors WHERE meter = ?'),
    checkpoint: p('SELECT size, note FROM checkpoint WHERE id = 1'),
    counters: p('SELECT name, value FROM counters'),
  };
}

/** Write statements, prepared on first use (a read-only store never prepares them). */
export function writers(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    entry: p('INSERT INTO entries (idx, entry) VALUES (?, ?)'),
    anchor: p('INSERT INTO anchors (idx, meter, seq, key, body) VALUES (?, ?, ?, ?, ?)'),
    anchorMeter: p('INSERT INTO anchor_meters (meter_id) VALUES (?)'),
    anchorKey: p('INSERT INTO anchor_keys (meter, ord, key_id) VALUES (?, ?, ?)'),
    node: p('INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)'),
    meter: p(`INSERT INTO meters (meter_id, identity_pub, registration_index, registered_at_ms, certificate, certificate_sig)
              VALUES (?, ?, ?, ?, ?, ?)`),
    authPass: p('INSERT INTO auth_passes (leaf_index, meter_id, at_ms) VALUES (?, ?, ?)'),
    useAuth: p('UPDATE auth_passes SET bound_leaf = ? WHERE leaf_index = ? AND bound_leaf IS NULL'),
    binding: p('INSERT INTO bindings (meter_id, key_id, session_pub, first_seq, leaf_index) VALUES (?, ?, ?, ?, ?)'),
    counter: p('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value'),
    checkpoint: p('INSERT INTO checkpoint (id, size, note) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note'),
  };
}
