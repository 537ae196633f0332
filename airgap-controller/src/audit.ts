import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CloseReason } from './protocol.js';

/**
 * One line of the audit log. Every line carries every field, so the file reads as a uniform table;
 * fields that do not apply to an "open" line are null.
 */
export interface AuditRecord {
  /** When this line's event happened, ISO-8601 UTC. */
  time: string;
  /** "open-failed": the driver could not open (or verify) the gap, so no window opened. */
  event: 'open' | 'close' | 'open-failed' | 'refused';
  windowId: string;
  /** The reason the collector gave when it asked for the window. */
  reason: string;
  /** The operator who asked, for an operator's request outside the schedule (README §Policy). */
  operator?: string;
  driver: string;
  /** Where the collector reaches the ledger during the window (null on "open-failed"). */
  relay: { host: string; port: number } | null;
  openedAt: string | null;
  closesAt: string | null;
  /** Milliseconds from open to close (close lines only). */
  durationMs: number | null;
  /** Bytes the relay carried towards the ledger and back during the window (close lines only; null if the driver cannot count). */
  bytesToTarget: number | null;
  bytesFromTarget: number | null;
  closedBy: CloseReason | null;
  /** On "open-failed": the driver's error code and message; on "refused": why the request was refused; null otherwise. */
  error: string | null;
  /** On "refused": the request's method and target (clipped, printable). */
  request?: string;
}

/**
 * Append-only JSON-lines file. Each record is written with one write(2) on a file opened O_APPEND and
 * fsync'd before append() returns, so a record that was reported is on disk. Synchronous on purpose:
 * windows are rare and an unrecorded window must not be opened.
 */
export class AuditLog {
  readonly path: string;
  #fd: number | undefined;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    this.#fd = openSync(path, 'a', 0o600);
  }

  append(record: AuditRecord): void {
    if (this.#fd === undefined) throw new Error(`audit log ${this.path} is closed`);
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(this.#fd, bytes, written, bytes.length - written);
    fsyncSync(this.#fd);
  }

  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
