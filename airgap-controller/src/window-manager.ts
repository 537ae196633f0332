import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditLog, AuditRecord } from './audit.js';
import type { AirgapConfig } from './config.js';
import type { ControlConnection, ControlHandler } from './control-connection.js';
import type { AirgapDriver, Endpoint } from './drivers/driver.js';
import { AirgapError } from './errors.js';
import type { CloseReason, ControlRequest, OpenRequest } from './protocol.js';
import type { RefusedRequest } from './drivers/relay.js';
import type { LedgerRecorder } from './ledger-record.js';
import type { ScheduleGate } from './schedule.js';
import type { AirgapWindowRecord } from '@meterseal/protocol';

/** A window as reported by stats() and the status op. */
export interface WindowInfo {
  windowId: string;
  reason: string;
  driver: string;
  relay: Endpoint;
  openedAt: string;
  closesAt: string;
  bytesToTarget: number | null;
  bytesFromTarget: number | null;
}

export interface AirgapStats {
  /** Windows opened since start. */
  windows: number;
  /** Whether the gap is bridged right now (true until the driver has finished closing). */
  open: boolean;
  /** Requests the relay refused since start (README §Policy). */
  refused: number;
  /** With a schedule configured: whether a slot is open and when the next starts. */
  schedule?: { slotOpen: boolean; slotUntil: string | null; nextSlotAt: string | null };
  current?: WindowInfo;
}

interface ActiveWindow {
  id: string;
  reason: string;
  owner: ControlConnection;
  relay: Endpoint;
  openedAtMs: number;
  closesAtMs: number;
  timer: NodeJS.Timeout;
  closing?: Promise<void>;
  /** The operator who asked for it, if it was an operator's request (README §Policy). */
  operator?: string;
  /** Requests the relay refused during this window. */
  refused: number;
}

const iso = (ms: number): string => new Date(ms).toISOString(); // ISO-8601 UTC, "Z"

/**
 * The window state machine behind the control port: one window at a time, owned by the control connection
 * that opened it, closed on request, at its deadline, when its owner goes, or at shutdown — each open and
 * close audited and logged.
 */
export class WindowManager implements ControlHandler {
  readonly #config: AirgapConfig;
  readonly #log: Logger;
  readonly #driver: AirgapDriver;
  readonly #audit: AuditLog;
  readonly connections = new Set<ControlConnection>();
  #window: ActiveWindow | undefined;
  #opening: Promise<void> | undefined;
  #windows = 0;
  #refusals = 0;
  shuttingDown = false;

  readonly #schedule: ScheduleGate | undefined;
  readonly #recorder: LedgerRecorder | undefined;

  constructor(config: AirgapConfig, log: Logger, driver: AirgapDriver, audit: AuditLog, policy: { schedule?: ScheduleGate; recorder?: LedgerRecorder } = {}) {
    this.#schedule = policy.schedule;
    this.#recorder = policy.recorder;
    this.#config = config;
    this.#log = log;
    this.#driver = driver;
    this.#audit = audit;
  }

  async request(connection: ControlConnection, request: ControlRequest): Promise<object> {
    switch (request.op) {
      case 'open':
        return this.#open(connection, request);
      case 'close':
        return this.#close(connection);
      case 'status':
        return { ok: true, ...this.stats() };
    }
  }

  gone(connection: ControlConnection): void {
    this.connections.delete(connection);
    const window = this.#window;
    if (window?.owner === connection) void this.#closeWindow(window, 'client-gone');
  }

  stats(): AirgapStats {
    const window = this.#window;
    const stats: AirgapStats = { windows: this.#windows, open: window !== undefined, refused: this.#refusals };
    if (this.#schedule) stats.schedule = this.#schedule.view();
    if (window) stats.current = this.#info(window);
    return stats;
  }

  /** Shutdown: waits out an open in progress, then closes the window with reason "shutdown". */
  async closeAll(): Promise<void> {
    this.shuttingDown = true;
    if (this.#opening) await this.#opening;
    if (this.#window) await this.#closeWindow(this.#window, 'shutdown');
  }

  async #open(owner: ControlConnection, request: OpenRequest): Promise<object> {
    const maxWindowMs = this.#config.maxWindowMs;
    const maxMs = request.maxMs ?? maxWindowMs;
    if (maxMs > maxWindowMs) {
      throw new AirgapError('INVALID_REQUEST', `maxMs ${maxMs} exceeds this controller's maxWindowMs ${maxWindowMs}`);
    }
    if (this.#window?.closing) await this.#window.closing; // a window on its way out is not "busy"
    if (this.shuttingDown) throw new AirgapError('SHUTTING_DOWN', 'the controller is shutting down');
    if (this.#schedule && request.operator === undefined && !this.#schedule.slotOpen()) {
      const next = this.#schedule.view().nextSlotAt;
      throw new AirgapError('OUTSIDE_SCHEDULE', `no scheduled slot is open (next at ${next ?? 'never'}); an operator's request needs "operator"`);
    }
    if (this.#window || this.#opening) {
      throw new AirgapError('WINDOW_BUSY', 'a window is already open; one window at a time');
    }
    let opened!: () => void;
    this.#opening = new Promise((resolve) => (opened = resolve));
    try {
      return await this.#openDriver(owner, request.reason, maxMs, request.operator);
    } finally {
      this.#opening = undefined;
      opened();
    }
  }

  async #openDriver(owner: ControlConnection, reason: string, maxMs: number, operator: string | undefined): Promise<object> {
    let relay: Endpoint;
    try {
      relay = await this.#driver.open();
    } catch (cause) {
      this.#log.error({ err: cause }, 'driver failed to open the gap');
      this.#auditFailedOpen(reason, cause);
      throw new AirgapError('DRIVER_FAILED', `the ${this.#driver.name} driver could not open the gap`, { cause });
    }
    const openedAtMs = Date.now();
    const window: ActiveWindow = {
      id: randomUUID(), // RFC 9562 §5.4 (version 4)
      reason,
      owner,
      relay,
      openedAtMs,
      closesAtMs: openedAtMs + maxMs,
      timer: setTimeout(() => void this.#closeWindow(window, 'max-duration'), maxMs),
      refused: 0,
      ...(operator === undefined ? {} : { operator }),
    };
    if (this.#recorder) {
      // README §Ledger record: the ledger learns of the window before the collector does
      const record = this.#ledgerRecord(window, null, 0);
      if (this.#recorder.required) {
        try {
          await this.#recorder.submit(record);
        } catch (cause) {
          clearTimeout(window.timer);
          await this.#driver.close();
          this.#auditFailedOpen(reason, cause);
          throw cause instanceof AirgapError ? cause : new AirgapError('LEDGER_RECORD_FAILED', 'the ledger did not record the window', { cause });
        }
      } else this.#recorder.submitEventually(record);
    }
    try {
      this.#audit.append(this.#record(window, 'open', openedAtMs, null));
    } catch (cause) {
      clearTimeout(window.timer);
      await this.#driver.close();
      this.#log.error({ err: cause, auditLog: this.#audit.path }, 'audit log write failed; window not opened');
      throw new AirgapError('AUDIT_FAILED', 'the audit record could not be written; window not opened', { cause });
    }
    this.#window = window;
    this.#windows += 1;
    this.#log.info({ ...this.#info(window), connection: owner.id }, 'airgap window opened');
    // The collector may have gone while the driver was opening: then the window ends at once.
    if (!owner.alive) void this.#closeWindow(window, 'client-gone');
    const { id: windowId, closesAtMs } = window;
    return { ok: true, windowId, relay, openedAt: iso(openedAtMs), closesAt: iso(closesAtMs) };
  }

  async #close(connection: ControlConnection): Promise<object> {
    const window = this.#window;
    if (!window) throw new AirgapError('NO_WINDOW', 'no window is open');
    if (window.owner !== connection) {
      throw new AirgapError('NOT_OWNER', 'the open window belongs to another control connection');
    }
    await this.#closeWindow(window, 'requested'); // if it is already closing, waits for that
    return { ok: true, closed: true };
  }

  #closeWindow(window: ActiveWindow, closedBy: CloseReason): Promise<void> {
    if (window.closing) return window.closing;
    clearTimeout(window.timer);
    const closedAtMs = Date.now();
    window.closing = (async () => {
      try {
        await this.#driver.close();
      } catch (err) {
        this.#log.fatal({ err, windowId: window.id }, 'driver failed to close the gap');
      }
      if (this.#driver.isOpen()) this.#log.fatal({ windowId: window.id }, 'driver still reports the gap open');
      const record = this.#record(window, 'close', closedAtMs, closedBy);
      if (this.#window === window) this.#window = undefined;
      try {
        this.#audit.append(record);
      } catch (err) {
        this.#log.error({ err, record }, 'audit log write failed for a window close');
      }
      const { windowId, durationMs, bytesToTarget, bytesFromTarget } = record;
      this.#log.info({ windowId, closedBy, durationMs, bytesToTarget, bytesFromTarget }, 'airgap window closed');
      window.owner.send({ event: 'closed', windowId: window.id, reason: closedBy });
      this.#recorder?.submitEventually(this.#ledgerRecord(window, closedBy, closedAtMs));
    })();
    return window.closing;
  }

  /** README §Policy: one "refused" audit line per request the relay refused, with the window it came in. */
  refused(r: RefusedRequest): void {
    const window = this.#window;
    const record: AuditRecord = {
      time: iso(Date.now()),
      event: 'refused',
      windowId: window?.id ?? '',
      reason: window?.reason ?? '',
      driver: this.#driver.name,
      relay: window?.relay ?? null,
      openedAt: window ? iso(window.openedAtMs) : null,
      closesAt: window ? iso(window.closesAtMs) : null,
      durationMs: null,
      bytesToTarget: null,
      bytesFromTarget: null,
      closedBy: null,
      error: `${r.code}: ${r.message}`,
      request: r.request,
    };
    this.#refusals += 1;
    if (window) window.refused += 1;
    try {
      this.#audit.append(record);
    } catch (err) {
      this.#log.error({ err, record }, 'audit log write failed for a refused request');
    }
  }

  /** The signed statement for the ledger (protocol AirgapWindow, type 0x14). */
  #ledgerRecord(window: ActiveWindow, closedBy: CloseReason | null, closedAtMs: number): AirgapWindowRecord {
    let reason = window.operator === undefined ? window.reason : `${window.operator}: ${window.reason}`;
    while (Buffer.byteLength(reason, 'utf8') > 200) reason = reason.slice(0, -1);
    const record: AirgapWindowRecord = {
      event: closedBy === null ? 'open' : 'close',
      windowId: window.id,
      reason,
      driver: this.#driver.name,
      openedAtMs: BigInt(window.openedAtMs),
      closesAtMs: BigInt(window.closesAtMs),
    };
    if (closedBy !== null) {
      const traffic = this.#driver.traffic?.();
      record.close = {
        closedAtMs: BigInt(closedAtMs),
        closedBy,
        bytesToTarget: BigInt(traffic?.toTarget ?? 0),
        bytesFromTarget: BigInt(traffic?.fromTarget ?? 0),
        refusedRequests: window.refused,
      };
    }
    return record;
  }

  /** One "open-failed" line for an attempt the driver refused; a failed write is logged, not raised. */
  #auditFailedOpen(reason: string, cause: unknown): void {
    const error = cause instanceof AirgapError ? `${cause.code}: ${cause.message}` : String(cause);
    const record: AuditRecord = {
      time: iso(Date.now()),
      event: 'open-failed',
      windowId: randomUUID(),
      reason,
      driver: this.#driver.name,
      relay: null,
      openedAt: null,
      closesAt: null,
      durationMs: null,
      bytesToTarget: null,
      bytesFromTarget: null,
      closedBy: null,
      error,
    };
    try {
      this.#audit.append(record);
    } catch (err) {
      this.#log.error({ err, record }, 'audit log write failed for a failed open');
    }
  }

  #record(window: ActiveWindow, event: 'open' | 'close', atMs: number, closedBy: CloseReason | null): AuditRecord {
    const traffic = event === 'close' ? (this.#driver.traffic?.() ?? null) : null;
    return {
      time: iso(atMs),
      event,
      windowId: window.id,
      reason: window.reason,
      driver: this.#driver.name,
      ...(window.operator === undefined ? {} : { operator: window.operator }),
      relay: window.relay,
      openedAt: iso(window.openedAtMs),
      closesAt: iso(window.closesAtMs),
      durationMs: event === 'close' ? atMs - window.openedAtMs : null,
      bytesToTarget: traffic ? traffic.toTarget : null,
      bytesFromTarget: traffic ? traffic.fromTarget : null,
      closedBy,
      error: null,
    };
  }

  #info(window: ActiveWindow): WindowInfo {
    const traffic = this.#driver.traffic?.();
    return {
      windowId: window.id,
      reason: window.reason,
      driver: this.#driver.name,
      relay: window.relay,
      openedAt: iso(window.openedAtMs),
      closesAt: iso(window.closesAtMs),
      bytesToTarget: traffic ? traffic.toTarget : null,
      bytesFromTarget: traffic ? traffic.fromTarget : null,
    };
  }
}

