// A version-1 ledger database (every entry verbatim, every Merkle node stored) is migrated on open to the
// compact version 2 with the same log: the same entries byte for byte, the same roots, the same anchors.
import t from 'tap';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MemoryTree, leafHash, nodesForAppend, rootAt, utf8 } from '@meterseal/protocol';
import { openSqliteStore } from './sqlite-store.js';
import { anchorAppend } from './testing/store-conformance.js';
import { tempDir } from './testing/harness.js';

/** The version-1 schema, as the first release created it. */
const V1 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE entries (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, leaf_hash BLOB NOT NULL);
CREATE TABLE nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE meters (meter_id TEXT PRIMARY KEY, identity_pub BLOB NOT NULL, registration_index INTEGER NOT NULL UNIQUE,
  registered_at_ms INTEGER NOT NULL, certificate BLOB NOT NULL, certificate_sig BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE bindings (meter_id TEXT NOT NULL, key_id BLOB NOT NULL, session_pub BLOB NOT NULL, first_seq BLOB NOT NULL,
  leaf_index INTEGER NOT NULL UNIQUE, PRIMARY KEY (meter_id, key_id)) WITHOUT ROWID;
CREATE INDEX bindings_by_first_seq ON bindings (meter_id, first_seq);
CREATE TABLE auth_passes (leaf_index INTEGER PRIMARY KEY, meter_id TEXT NOT NULL, at_ms INTEGER NOT NULL, bound_leaf INTEGER);
CREATE INDEX auth_passes_by_meter ON auth_passes (meter_id, at_ms);
CREATE TABLE anchors (meter_id TEXT NOT NULL, seq BLOB NOT NULL, leaf_index INTEGER NOT NULL UNIQUE, reading_hash BLOB NOT NULL,
  key_id BLOB NOT NULL, PRIMARY KEY (meter_id, seq)) WITHOUT ROWID;
CREATE TABLE checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, note TEXT NOT NULL);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

const U63 = 1n << 63n;
const u64 = (v: bigint): Buffer => Buffer.from(BigInt.asUintN(64, v).toString(16).padStart(16, '0'), 'hex');

/** 600 entries the way version 1 stored them: anchors of three meters (one seq above 2^63) and others. */
function writeV1(path: string, corrupt = false): { tree: MemoryTree; entries: Uint8Array[] } {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(V1);
  db.prepare("INSERT INTO meta VALUES ('schema_version', '1'), ('origin', 'example.org/log')").run();
  const tree = new MemoryTree();
  const entries: Uint8Array[] = [];
  for (let i = 0; i < 600; i++) {
    const seq = i === 7 ? U63 + 5n : BigInt(i);
    const a = i % 5 === 0 ? undefined : anchorAppend(`M-${i % 3}`, seq, i % 200, new Uint8Array(8).fill(i % 2));
    const entry = a ? a.entry : utf8.encode(`auth result ${i}`);
    const leaf = leafHash(entry);
    db.prepare('INSERT INTO entries VALUES (?, ?, ?)').run(i, entry, leaf);
    for (const n of nodesForAppend(tree, BigInt(i), leaf)) db.prepare('INSERT INTO nodes VALUES (?, ?, ?)').run(n.level, n.index, n.hash);
    tree.append(leaf);
    entries.push(entry);
    if (a?.effect.kind === 'anchor') {
      const x = a.effect.anchor;
      const readingHash = corrupt && i === 301 ? new Uint8Array(32) : x.readingHash;
      db.prepare('INSERT INTO anchors VALUES (?, ?, ?, ?, ?)').run(x.meterId, u64(x.seq), i, readingHash, x.keyId);
    }
  }
  db.prepare("INSERT INTO counters VALUES ('anchored', 480)").run();
  db.prepare("INSERT INTO checkpoint VALUES (1, 600, 'the note')").run();
  db.close();
  return { tree, entries };
}

t.test('a version-1 database is migrated on open: the same log, in less space', async (t) => {
  const path = join(tempDir(t), 'v1.sqlite');
  const { tree, entries } = writeV1(path);
  const before = statSync(path).size;
  const s = openSqliteStore(path);
  t.teardown(() => s.close());
  t.equal(s.getMeta('schema_version'), '2');
  t.equal(s.treeSize(), 600n);
  t.same(s.getEntries(0n, 600), entries, 'every entry, byte for byte');
  for (const n of [1n, 255n, 256n, 511n, 600n]) t.same(rootAt(s, n), tree.root(n), `root of size ${n}`);
  t.same(s.getNodes(8, 0n, 2), [tree.getNode(8, 0n), tree.getNode(8, 1n)], 'level-8 nodes kept');
  t.same(s.getAnchor('M-1', 1n)?.leafIndex, 1n);
  t.equal(s.getAnchor('M-1', U63 + 5n)?.leafIndex, 7n, 'a seq above 2^63');
  t.equal(s.maxAnchoredSeq('M-1'), U63 + 5n);
  t.same(s.getCheckpoint(), { size: 600n, note: 'the note' });
  t.equal(s.counters().anchored, 480);
  const more = anchorAppend('M-1', 1000n);
  s.append({ index: 600n, ...more });
  tree.append(leafHash(more.entry));
  t.same(rootAt(s, 601n), tree.root(), 'and the log carries on');
  s.close();
  t.ok(statSync(path).size < before * 0.7, `${before} bytes before, ${statSync(path).size} after`);
});

t.test('an anchor row that does not match its entry stops the migration and changes nothing', async (t) => {
  const path = join(tempDir(t), 'v1-bad.sqlite');
  writeV1(path, true);
  t.throws(() => openSqliteStore(path, { readonly: true }), { code: 'STORE_MISMATCH', message: /schema version 1/ }, 'a read-only view does not migrate');
  t.throws(() => openSqliteStore(path), { code: 'STORE_BAD_ENTRY', message: /entry 301/ });
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.same(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get(), { value: '1' });
  t.same(db.prepare('SELECT COUNT(*) AS n FROM entries').get(), { n: 600 }, 'the version-1 tables are untouched');
});
