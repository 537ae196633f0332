// The disk cap (issue 7 item 2): polling stops rather than dropping readings when the queued bytes across all
// outboxes reach the cap, or the file system runs short. A second connection to each outbox (WAL lets it read
// beside the writer) measures the queue and prunes rows acknowledged on both interfaces, so SQLite reuses
// their pages instead of growing the file on the SD card.
import { statfsSync } from 'node:fs';
import Database from 'better-sqlite3';

export class OutboxMeter {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('synchronous = FULL');
    this.db.defaultSafeIntegers(true);
  }

  /** Bytes of both payloads of every row not yet acknowledged on both interfaces. */
  queuedBytes(): number {
    const r = this.db
      .prepare(`SELECT coalesce(sum(length(anchor) + length(delivery)), 0) AS b FROM readings WHERE ledger_leaf IS NULL OR collector_acked_at IS NULL`)
      .get() as { b: bigint };
    return Number(r.b);
  }

  /** Rows not yet acknowledged, per interface (unchanged by pruning, unlike Outbox.counts()). */
  pending(): { ledger: number; collector: number } {
    const r = this.db
      .prepare(`SELECT count(*) - count(ledger_leaf) AS l, count(*) - count(collector_acked_at) AS c FROM readings`)
      .get() as { l: bigint; c: bigint };
    return { ledger: Number(r.l), collector: Number(r.c) };
  }

  /** UTC epoch ms of the newest stored row, or null (used to notice a power loss across a restart). */
  lastWriteMs(): number | null {
    const r = this.db.prepare(`SELECT created_at FROM readings ORDER BY seq DESC LIMIT 1`).get() as { created_at: string } | undefined;
    return r ? Date.parse(r.created_at) : null;
  }

  /** Deletes rows acknowledged on both interfaces, keeping the newest row; returns how many went. */
  prune(): number {
    return Number(
      this.db
        .prepare(`DELETE FROM readings WHERE ledger_leaf IS NOT NULL AND collector_acked_at IS NOT NULL AND seq < (SELECT max(seq) FROM readings)`)
        .run().changes,
    );
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

export function diskState(dataDir: string, meters: OutboxMeter[], capBytes: number, minFreeBytes: number): DiskState {
  const queuedBytes = meters.reduce((a, m) => a + m.queuedBytes(), 0);
  const fs = statfsSync(dataDir);
  const freeBytes = Number(fs.bavail) * Number(fs.bsize);
  if (queuedBytes >= capBytes) return { queuedBytes, freeBytes, full: true, why: `queued ${queuedBytes} bytes >= cap ${capBytes}` };
  if (freeBytes < minFreeBytes) return { queuedBytes, freeBytes, full: true, why: `free ${freeBytes} bytes < ${minFreeBytes}` };
  return { queuedBytes, freeBytes, full: false };
}
