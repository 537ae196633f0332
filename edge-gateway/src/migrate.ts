// Gateways of the first layout kept one outbox per meter (<dataDir>/meters/<id>/outbox.sqlite, the device's
// Outbox schema). On start each such file is copied into the shared outbox in one transaction — rows with their
// acknowledgements, the meter's next seq, its key announcements — and then renamed *.migrated (kept, not
// deleted). Idempotent: a crash between the commit and the rename copies again, INSERT OR IGNORE keeps the
// first copy, and the next seq only ever goes up, so no number is reused and nothing queued is lost.
import { existsSync, renameSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { SharedOutbox } from './shared-outbox.js';

export const LEGACY_OUTBOX_FILE = 'outbox.sqlite';

/** Copies a per-meter outbox into the shared one; returns the rows copied, or null when there was none. */
export function migrateMeterOutbox(store: SharedOutbox, meterId: string, legacyPath: string): number | null {
  if (!existsSync(legacyPath)) return null;
  // opened read-write so that a leftover WAL is checkpointed into it first (and removed on close)
  const old = new Database(legacyPath, { fileMustExist: true });
  let copied = 0;
  try {
    old.defaultSafeIntegers(true);
    const has = (t: string): boolean => old.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(t) !== undefined;
    const rows = has('readings')
      ? old.prepare(`SELECT seq, anchor, delivery, created_at, ledger_leaf, collector_acked_at FROM readings ORDER BY seq`).all() as
        { seq: bigint; anchor: Buffer; delivery: Buffer; created_at: string; ledger_leaf: string | null; collector_acked_at: string | null }[]
      : [];
    const next = has('meta') ? (old.prepare(`SELECT value FROM meta WHERE key = 'next_seq'`).get() as { value: string } | undefined) : undefined;
    const anns = has('announcements')
      ? old.prepare(`SELECT key_id, payload, collector_acked_at FROM announcements`).all() as { key_id: string; payload: Buffer; collector_acked_at: string | null }[]
      : [];
    const db = store.handle;
    const ins = db.prepare(`INSERT OR IGNORE INTO readings (meter_id, seq, anchor, delivery, created_at, ledger_leaf, collector_acked_at) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    const ann = db.prepare(`INSERT OR IGNORE INTO announcements (meter_id, key_id, payload, collector_acked_at) VALUES (?, ?, ?, ?)`);
    const setNext = db.prepare(`INSERT INTO meters (meter_id, next_seq) VALUES (?, ?) ON CONFLICT (meter_id) DO UPDATE SET next_seq = excluded.next_seq`);
    db.transaction(() => {
      for (const r of rows) copied += ins.run(meterId, r.seq, r.anchor, r.delivery, r.created_at, r.ledger_leaf, r.collector_acked_at).changes;
      for (const a of anns) ann.run(meterId, a.key_id, a.payload, a.collector_acked_at);
      // the larger of: the shared outbox's, the old meta's, one past the old newest row
      let n = store.nextSeq(meterId);
      if (next && BigInt(next.value) > n) n = BigInt(next.value);
      const last = rows.at(-1);
      if (last && last.seq + 1n > n) n = last.seq + 1n;
      setNext.run(meterId, n.toString());
    })();
  } finally {
    old.close();
  }
  renameSync(legacyPath, `${legacyPath}.migrated`);
  return copied;
}
