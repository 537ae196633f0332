// The agent's durable outbox (SQLite, WAL, synchronous=FULL): every reading is written, with its sequence
// number, before anything is sent, so a reading is never lost while a path is down and a sequence number is
// never reused after a restart. Each interface acknowledges independently.
import Database from 'better-sqlite3';

export type Interface = 'ledger' | 'collector';

export interface OutboxItem {
  seq: bigint;
  payload: Uint8Array;
}

export interface OutboxCounts {
  readings: number;
  ledgerAcked: number;
  collectorAcked: number;
}

/** What an Uplink needs of an outbox: this class, or one meter's view of the edge gateway's shared outbox. */
export interface OutboxQueue {
  pending(iface: Interface, limit: number, afterSeq?: bigint): OutboxItem[];
  ack(iface: Interface, seq: bigint, leafIndex?: string): void;
  pendingAnnouncements(): { keyIdHex: string; payload: Uint8Array }[];
  ackAnnouncement(keyIdHex: string): void;
}

const toBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export class Outbox implements OutboxQueue {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.defaultSafeIntegers(true);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS readings (
        seq INTEGER PRIMARY KEY,
        anchor BLOB NOT NULL,         -- signed anchor: interface 1 payload
        delivery BLOB NOT NULL,       -- Delivery: interface 2 payload
        created_at TEXT NOT NULL,
        ledger_leaf TEXT,             -- set when the ledger acknowledged (its leaf index)
        collector_acked_at TEXT
      );
      CREATE TABLE IF NOT EXISTS announcements (
        key_id TEXT PRIMARY KEY,
        payload BLOB NOT NULL,
        collector_acked_at TEXT
      );
    `);
  }

  /** The next sequence number this meter will use. Sequence numbers start at 1. */
  nextSeq(): bigint {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'next_seq'`).get() as { value: string } | undefined;
    return row ? BigInt(row.value) : 1n;
  }

  /**
   * Allocates the next sequence number and stores what `build` makes of it, in one transaction: the
   * reading is durable before it is sent, and its number is never handed out again.
   */
  enqueue(build: (seq: bigint) => { anchor: Uint8Array; delivery: Uint8Array }, span = 1n): bigint {
    // span > 1: a gap record (protocol gap.ts) takes seqs seq..seq+span-1; only seq gets a row
    if (span < 1n) throw new RangeError('span must be >= 1');
    return this.db.transaction(() => {
      const seq = this.nextSeq();
      const { anchor, delivery } = build(seq);
      this.db
        .prepare(`INSERT INTO readings (seq, anchor, delivery, created_at) VALUES (?, ?, ?, ?)`)
        .run(seq, Buffer.from(anchor), Buffer.from(delivery), new Date().toISOString());
      this.db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('next_seq', ?)`).run((seq + span).toString());
      return seq;
    })();
  }

  pending(iface: Interface, limit: number, afterSeq = 0n): OutboxItem[] {
    const col = iface === 'ledger' ? 'anchor' : 'delivery';
    const ack = iface === 'ledger' ? 'ledger_leaf' : 'collector_acked_at';
    const rows = this.db
      .prepare(`SELECT seq, ${col} AS payload FROM readings WHERE ${ack} IS NULL AND seq > ? ORDER BY seq LIMIT ?`)
      .all(afterSeq, limit) as { seq: bigint; payload: Buffer }[];
    return rows.map((r) => ({ seq: r.seq, payload: toBytes(r.payload) }));
  }

  /**
   * Marks an item acknowledged by one interface. Committed at once (other connections see it) but without an
   * fsync of its own (synchronous=NORMAL; the next FULL commit carries it to disk): an acknowledgement lost in
   * a power cut only sends the item again, which the ledger and the collector answer as a duplicate.
   */
  ack(iface: Interface, seq: bigint, leafIndex?: string): void {
    this.db.pragma('synchronous = NORMAL');
    try {
      if (iface === 'ledger') this.db.prepare(`UPDATE readings SET ledger_leaf = ? WHERE seq = ?`).run(leafIndex ?? '', seq);
      else this.db.prepare(`UPDATE readings SET collector_acked_at = ? WHERE seq = ?`).run(new Date().toISOString(), seq);
    } finally {
      this.db.pragma('synchronous = FULL'); // readings stay FULL: durable before they are sent
    }
  }

  /** The connection's synchronous level (2 = FULL), for tests. */
  syncLevel(): number {
    return Number(this.db.pragma('synchronous', { simple: true }));
  }

  addAnnouncement(keyIdHex: string, payload: Uint8Array): void {
    this.db.prepare(`INSERT OR IGNORE INTO announcements (key_id, payload) VALUES (?, ?)`).run(keyIdHex, Buffer.from(payload));
  }

  pendingAnnouncements(): { keyIdHex: string; payload: Uint8Array }[] {
    const rows = this.db.prepare(`SELECT key_id, payload FROM announcements WHERE collector_acked_at IS NULL`).all() as {
      key_id: string;
      payload: Buffer;
    }[];
    return rows.map((r) => ({ keyIdHex: r.key_id, payload: toBytes(r.payload) }));
  }

  ackAnnouncement(keyIdHex: string): void {
    this.db.prepare(`UPDATE announcements SET collector_acked_at = ? WHERE key_id = ?`).run(new Date().toISOString(), keyIdHex);
  }

  /** The interface 2 payload (Delivery) stored at `seq`, or null: what a correction (correction.ts) refers to. */
  deliveryAt(seq: bigint): Uint8Array | null {
    const row = this.db.prepare(`SELECT delivery FROM readings WHERE seq = ?`).get(seq) as { delivery: Buffer } | undefined;
    return row ? toBytes(row.delivery) : null;
  }

  counts(): OutboxCounts {
    const r = this.db
      .prepare(
        `SELECT count(*) AS readings, count(ledger_leaf) AS ledgerAcked, count(collector_acked_at) AS collectorAcked FROM readings`,
      )
      .get() as { readings: bigint; ledgerAcked: bigint; collectorAcked: bigint };
    return { readings: Number(r.readings), ledgerAcked: Number(r.ledgerAcked), collectorAcked: Number(r.collectorAcked) };
  }

  close(): void {
    this.db.close();
  }
}
