// The disk cap (issue 7 item 2): polling stops rather than dropping readings when the queued bytes in the
// shared outbox reach the cap, or the file system runs short. The gateway measures and prunes through its own
// SharedOutbox (rows acknowledged on both interfaces go, so SQLite reuses their pages instead of growing the
// file on the SD card); OutboxMeter is a second, read-beside-the-writer connection (WAL) for other processes
// and the bench, optionally narrowed to one meter.
import { statfsSync } from 'node:fs';
import Database from 'better-sqlite3';

export class OutboxMeter {
  private readonly db: Database.Database;
  private readonly where: string;
  private readonly meterId: string | undefined;

  constructor(path: string, meterId?: string) {
    // meter ids match METER_ID_PATTERN (config.ts), but are bound as a parameter all the same
    this.where = meterId === undefined ? '1' : 'meter_id = @meterId';
    this.meterId = meterId;
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('synchronous = FULL');
    this.db.defaultSafeIntegers(true);
  }

  private get(sql: string): unknown {
    const st = this.db.prepare(sql);
    return this.meterId === undefined ? st.get() : st.get({ meterId: this.meterId });
  }

  /** Bytes of both payloads of every row not yet acknowledged on both interfaces. */
  queuedBytes(): number {
    const r = this.get(`SELECT coalesce(sum(length(anchor) + length(delivery)), 0) AS b FROM readings WHERE ${this.where} AND (ledger_leaf IS NULL OR collector_acked_at IS NULL)`) as { b: bigint };
    return Number(r.b);
  }

  /** Rows not yet acknowledged, per interface (unchanged by pruning, unlike Outbox.counts()). */
  pending(): { ledger: number; collector: number } {
    const r = this.get(`SELECT count(*) - count(ledger_leaf) AS l, count(*) - count(collector_acked_at) AS c FROM readings WHERE ${this.where}`) as { l: bigint; c: bigint };
    return { ledger: Number(r.l), collector: Number(r.c) };
  }

  /** UTC epoch ms of the newest stored row, or null (used to notice a power loss across a restart). */
  lastWriteMs(): number | null {
    const r = this.get(`SELECT created_at FROM readings WHERE ${this.where} ORDER BY id DESC LIMIT 1`) as { created_at: string } | undefined;
    return r ? Date.parse(r.created_at) : null;
  }

  close(): void {
    this.db.close();
  }
}

export interface DiskState {
  queuedBytes: number;
  freeBytes: number;
  full: boolean;
  why?: string;
}

export function diskState(dataDir: string, meters: Array<{ queuedBytes(): number }>, capBytes: number, minFreeBytes: number): DiskState {
  const queuedBytes = meters.reduce((a, m) => a + m.queuedBytes(), 0);
  const fs = statfsSync(dataDir);
  const freeBytes = Number(fs.bavail) * Number(fs.bsize);
  if (queuedBytes >= capBytes) return { queuedBytes, freeBytes, full: true, why: `queued ${queuedBytes} bytes >= cap ${capBytes}` };
  if (freeBytes < minFreeBytes) return { queuedBytes, freeBytes, full: true, why: `free ${freeBytes} bytes < ${minFreeBytes}` };
  return { queuedBytes, freeBytes, full: false };
}
