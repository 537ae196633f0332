// One durable outbox for every meter a gateway serves (issue 7: "batched writes to spare SD cards"). Readings
// that arrive within a short window (commitWindowMs) or until commitMaxItems are waiting are signed and written
// in ONE transaction with ONE fsync (synchronous=FULL, WAL), and each caller's promise resolves only after that
// commit: acknowledged still means durable. Sequence numbers stay per meter and are allocated inside the commit,
// so a failed commit burns no number and nothing signed leaves the process before it is on disk (never re-signed:
// the uplinks send the stored bytes). Both uplinks of every meter read the same file and acknowledge
// independently; acknowledgements are batched too and committed without their own fsync (synchronous=NORMAL:
// losing one only makes the reading go again, which the ledger and the collector answer as a duplicate).
import Database from 'better-sqlite3';
import type { Interface, OutboxItem, OutboxQueue } from '@meterseal/device';
import { GatewayError } from './errors.js';

export interface SharedOutboxOptions {
  /** Longest a reading waits for its group commit. 0: commit at the next turn of the event loop. */
  commitWindowMs?: number;
  /** A group commit happens at once when this many writes are waiting. */
  commitMaxItems?: number;
}

type Build = (seq: bigint) => { anchor: Uint8Array; delivery: Uint8Array };
interface Waiting { meterId: string; build: Build; span: bigint; resolve(seq: bigint): void; reject(err: unknown): void }
interface Ack { meterId: string; iface: Interface; seq: bigint; leaf: string | undefined; at: string }

const toBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export class SharedOutbox {
  private readonly db: Database.Database;
  private readonly windowMs: number;
  private readonly maxItems: number;
  private waiting: Waiting[] = [];
  private acks: Ack[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Group commits made and the writes they carried (the bench and the tests read them). */
  readonly commits = { count: 0, items: 0, ackCommits: 0, acks: 0 };
  private readonly q: Record<string, Database.Statement>;

  constructor(readonly path: string, o: SharedOutboxOptions = {}) {
    this.windowMs = o.commitWindowMs ?? 20;
    this.maxItems = Math.max(1, o.commitMaxItems ?? 256);
    this.db = new Database(path);
    // 1 KiB pages, set before any table exists: a commit rewrites whole pages in the WAL, and the tail page of
    // each meter's index range is the one it touches — small pages, fewer bytes on the SD card
    this.db.pragma('page_size = 1024');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -512'); // 512 KiB page cache (default ~2 MB): the writes append, reads are of the tail
    this.db.defaultSafeIntegers(true);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meters (meter_id TEXT PRIMARY KEY, next_seq TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS readings (
        id INTEGER PRIMARY KEY,       -- insertion order: a group commit appends to the same few pages
        meter_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        anchor BLOB NOT NULL,         -- signed anchor: interface 1 payload
        delivery BLOB NOT NULL,       -- Delivery: interface 2 payload
        created_at TEXT NOT NULL,
        ledger_leaf TEXT,             -- set when the ledger acknowledged (its leaf index)
        collector_acked_at TEXT,
        UNIQUE (meter_id, seq)        -- per-(meter, seq): a number is stored once, never reused
      );
      CREATE TABLE IF NOT EXISTS announcements (
        meter_id TEXT NOT NULL, key_id TEXT NOT NULL, payload BLOB NOT NULL, collector_acked_at TEXT,
        PRIMARY KEY (meter_id, key_id)
      );
    `);
    const p = (sql: string): Database.Statement => this.db.prepare(sql);
    this.q = {
      next: p(`SELECT next_seq FROM meters WHERE meter_id = ?`),
      setNext: p(`INSERT INTO meters (meter_id, next_seq) VALUES (?, ?) ON CONFLICT (meter_id) DO UPDATE SET next_seq = excluded.next_seq`),
      insert: p(`INSERT INTO readings (meter_id, seq, anchor, delivery, created_at) VALUES (?, ?, ?, ?, ?)`),
      pendingLedger: p(`SELECT seq, anchor AS payload FROM readings WHERE meter_id = ? AND ledger_leaf IS NULL AND seq > ? ORDER BY seq LIMIT ?`),
      pendingCollector: p(`SELECT seq, delivery AS payload FROM readings WHERE meter_id = ? AND collector_acked_at IS NULL AND seq > ? ORDER BY seq LIMIT ?`),
      ackLedger: p(`UPDATE readings SET ledger_leaf = ? WHERE meter_id = ? AND seq = ?`),
      ackCollector: p(`UPDATE readings SET collector_acked_at = ? WHERE meter_id = ? AND seq = ?`),
      addAnn: p(`INSERT OR IGNORE INTO announcements (meter_id, key_id, payload) VALUES (?, ?, ?)`),
      pendingAnn: p(`SELECT key_id, payload FROM announcements WHERE meter_id = ? AND collector_acked_at IS NULL`),
      ackAnn: p(`UPDATE announcements SET collector_acked_at = ? WHERE meter_id = ? AND key_id = ?`),
      counts: p(`SELECT count(*) - count(ledger_leaf) AS l, count(*) - count(collector_acked_at) AS c FROM readings WHERE meter_id = ?`),
      lastWrite: p(`SELECT created_at FROM readings WHERE meter_id = ? ORDER BY seq DESC LIMIT 1`),
    };
  }

  /** The next sequence number of a meter (committed state). Sequence numbers start at 1. */
  nextSeq(meterId: string): bigint {
    const r = this.q.next!.get(meterId) as { next_seq: string } | undefined;
    return r ? BigInt(r.next_seq) : 1n;
  }

  /**
   * Queues a reading (or a gap taking `span` seqs, protocol gap.ts) for the next group commit. `build` signs it
   * inside that commit, once its seq is allocated; the promise resolves with the seq once it is on disk.
   */
  enqueue(meterId: string, build: Build, span = 1n): Promise<bigint> {
    if (this.closed) return Promise.reject(new GatewayError('CLOSED', 'the outbox is closed'));
    if (span < 1n) return Promise.reject(new RangeError('span must be >= 1'));
    return new Promise<bigint>((resolve, reject) => {
      this.waiting.push({ meterId, build, span, resolve, reject });
      if (this.waiting.length >= this.maxItems) this.flush();
      else this.arm();
    });
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.windowMs);
  }

  /** Commits every waiting write and acknowledgement now: one transaction, one fsync. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.waiting;
    if (batch.length === 0) {
      this.flushAcks();
      return;
    }
    this.waiting = [];
    const acks = this.acks;
    this.acks = [];
    const done: Array<() => void> = [];
    const now = new Date().toISOString();
    const one = this.db.transaction((w: Waiting): bigint => { // nested: a SAVEPOINT per item
      const seq = this.nextSeq(w.meterId);
      const { anchor, delivery } = w.build(seq);
      this.q.insert!.run(w.meterId, seq, Buffer.from(anchor), Buffer.from(delivery), now);
      this.q.setNext!.run(w.meterId, (seq + w.span).toString());
      return seq;
    });
    try {
      this.db.transaction(() => {
        for (const w of batch) {
          try {
            const seq = one(w);
            done.push(() => w.resolve(seq));
          } catch (err) {
            done.push(() => w.reject(err)); // this one failed to build or store: rolled back alone, nothing burned
          }
        }
        this.writeAcks(acks);
      })();
    } catch (err) {
      for (const w of batch) w.reject(err); // the commit failed: none of them is durable, no number was used
      this.acks.unshift(...acks);
      return;
    }
    this.commits.count++;
    this.commits.items += batch.length;
    for (const d of done) d();
  }

  private writeAcks(acks: Ack[]): void {
    for (const a of acks) {
      if (a.iface === 'ledger') this.q.ackLedger!.run(a.leaf ?? '', a.meterId, a.seq);
      else this.q.ackCollector!.run(a.at, a.meterId, a.seq);
    }
    this.commits.acks += acks.length;
  }

  /** Acknowledgements alone: one transaction without an fsync of its own (the next FULL commit covers it). */
  private flushAcks(): void {
    if (this.acks.length === 0) return;
    const acks = this.acks;
    this.acks = [];
    this.db.pragma('synchronous = NORMAL');
    try {
      this.db.transaction(() => this.writeAcks(acks))();
      this.commits.ackCommits++;
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  pending(meterId: string, iface: Interface, limit: number, afterSeq = 0n): OutboxItem[] {
    this.flushAcks(); // what this uplink acknowledged is not listed again
    const rows = (iface === 'ledger' ? this.q.pendingLedger! : this.q.pendingCollector!).all(meterId, afterSeq, limit) as { seq: bigint; payload: Buffer }[];
    return rows.map((r) => ({ seq: r.seq, payload: toBytes(r.payload) }));
  }

  ack(meterId: string, iface: Interface, seq: bigint, leafIndex?: string): void {
    this.acks.push({ meterId, iface, seq, leaf: leafIndex, at: new Date().toISOString() });
    if (this.acks.length >= this.maxItems) this.flushAcks();
    else if (!this.timer) this.arm();
  }

  addAnnouncement(meterId: string, keyIdHex: string, payload: Uint8Array): void {
    this.q.addAnn!.run(meterId, keyIdHex, Buffer.from(payload));
  }

  pendingAnnouncements(meterId: string): { keyIdHex: string; payload: Uint8Array }[] {
    return (this.q.pendingAnn!.all(meterId) as { key_id: string; payload: Buffer }[]).map((r) => ({ keyIdHex: r.key_id, payload: toBytes(r.payload) }));
  }

  ackAnnouncement(meterId: string, keyIdHex: string): void {
    this.q.ackAnn!.run(new Date().toISOString(), meterId, keyIdHex);
  }

  /** Rows of a meter not yet acknowledged, per interface (committed acknowledgements). */
  pendingCounts(meterId: string): { ledger: number; collector: number } {
    this.flushAcks();
    const r = this.q.counts!.get(meterId) as { l: bigint; c: bigint };
    return { ledger: Number(r.l), collector: Number(r.c) };
  }

  /** UTC epoch ms of a meter's newest stored row, or null (a power loss across a restart is noticed by it). */
  lastWriteMs(meterId: string): number | null {
    const r = this.q.lastWrite!.get(meterId) as { created_at: string } | undefined;
    return r ? Date.parse(r.created_at) : null;
  }

  /** Bytes of both payloads of every row not yet acknowledged on both interfaces (the disk cap counts these). */
  queuedBytes(): number {
    const r = this.db
      .prepare(`SELECT coalesce(sum(length(anchor) + length(delivery)), 0) AS b FROM readings WHERE ledger_leaf IS NULL OR collector_acked_at IS NULL`)
      .get() as { b: bigint };
    return Number(r.b);
  }

  /** Deletes rows acknowledged on both interfaces, keeping each meter's newest row; returns how many went. */
  prune(): number {
    this.flushAcks();
    return Number(this.db.prepare(`DELETE FROM readings WHERE ledger_leaf IS NOT NULL AND collector_acked_at IS NOT NULL
      AND seq < (SELECT max(seq) FROM readings r WHERE r.meter_id = readings.meter_id)`).run().changes);
  }

  /** One meter's outbox as an Uplink and a MeterSession see it. */
  forMeter(meterId: string): MeterOutbox {
    return new MeterOutbox(this, meterId);
  }

  /** Database handle for the migration (migrate.ts); not for general use. */
  get handle(): Database.Database {
    return this.db;
  }

  /** Commits what is waiting, then closes. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.flushAcks();
    this.closed = true;
    this.db.close();
  }
}

export class MeterOutbox implements OutboxQueue {
  constructor(readonly store: SharedOutbox, readonly meterId: string) {}
  nextSeq(): bigint {
    return this.store.nextSeq(this.meterId);
  }
  enqueue(build: Build, span = 1n): Promise<bigint> {
    return this.store.enqueue(this.meterId, build, span);
  }
  pending(iface: Interface, limit: number, afterSeq = 0n): OutboxItem[] {
    return this.store.pending(this.meterId, iface, limit, afterSeq);
  }
  ack(iface: Interface, seq: bigint, leafIndex?: string): void {
    this.store.ack(this.meterId, iface, seq, leafIndex);
  }
  addAnnouncement(keyIdHex: string, payload: Uint8Array): void {
    this.store.addAnnouncement(this.meterId, keyIdHex, payload);
  }
  pendingAnnouncements(): { keyIdHex: string; payload: Uint8Array }[] {
    return this.store.pendingAnnouncements(this.meterId);
  }
  ackAnnouncement(keyIdHex: string): void {
    this.store.ackAnnouncement(this.meterId, keyIdHex);
  }
}
