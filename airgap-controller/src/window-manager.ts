import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditLog, AuditRecord } from './audit.js';
import type { AirgapConfig } from './config.js';
import type { ControlConnection, ControlHandler } from './control-connection.js';
import type { AirgapDriver, Endpoint } from './drivers/driver.js';
import { AirgapError } from './errors.js';
import type { CloseReason, ControlRequest, OpenRequest } from './protocol.js';

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
  shuttingDown = false;

  constructor(config: AirgapConfig, log: Logger, driver: AirgapDriver, audit: AuditLog) {
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
    const stats: AirgapStats = { windows: this.#windows, open: window !== undefined };
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
    if (this.#window || this.#opening) {
      throw new AirgapError('WINDOW_BUSY', 'a window is already open; one window at a time');
    }
    let opened!: () => void;
    this.#opening = new Promise((resolve) => (opened = resolve));
    try {
      return await this.#openDriver(owner, request.reason, maxMs);
    } finally {
      this.#opening = undefined;
      opened();
    }
  }

  async #openDriver(owner: ControlConnection, reason: string, maxMs: number): Promise<object> {
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
    };
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
    })();
    return window.closing;
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

