// The collector's side of the control protocol (README §Control protocol): open a window, learn where the
// relay listens, and hold the control connection for as long as the window should stay open.
import { connect, type Socket } from 'node:net';
import { AirgapError, isProtocolErrorCode } from './errors.js';
import { LineFramer } from './framer.js';
import { hostPort } from './loopback.js';
import {
  CloseResponseSchema,
  ClosedEventSchema,
  ErrorResponseSchema,
  OpenResponseSchema,
  encodeLine,
  isEventMessage,
  parseJsonLine,
  type ClosedEvent,
  type CloseReason,
  type OpenResponse,
} from './protocol.js';

export interface OpenWindowOptions {
  control: { host: string; port: number };
  /** Why the window is needed (1..200 characters); recorded in the audit log. */
  reason: string;
  /** Ask for a shorter window than the controller's maximum. */
  maxMs?: number;
  /** An operator's own request (README §Policy): granted outside the schedule; recorded with the name. */
  operator?: string;
  /** Give up waiting for the controller's answer after this long (default 10 s). */
  timeoutMs?: number;
}

/** Why a window ended, as the client saw it: the controller's reason, or the control connection dropped. */
export type WindowEnd = CloseReason | 'connection-lost';

export interface Window {
  windowId: string;
  /** Base URL of the ledger API through the relay, e.g. "http://127.0.0.1:40123". */
  relayUrl: string;
  closesAt: Date;
  /** Resolves (never rejects) when the window has closed, with the reason. */
  closed: Promise<WindowEnd>;
  /**
   * Asks the controller to close the window, then ends the control connection. Safe to call twice, and
   * after the window closed by itself. If it rejects (TIMEOUT, or the controller refused), the control
   * connection has already been destroyed — which itself closes the window on the controller.
   */
  close(): Promise<void>;
}

type Waiter = { resolve: (value: unknown) => void; reject: (error: AirgapError) => void };

/** Reads controller messages off the socket: events go to onEvent, responses to the oldest waiter. */
class ControlChannel {
  readonly socket: Socket;
  readonly #framer = new LineFramer();
  readonly #waiters: Waiter[] = [];
  #failure: AirgapError | undefined;
  onEvent: (event: unknown) => void = () => {};
  onEnd: () => void = () => {};

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (cause) => this.#fail(new AirgapError('CONNECTION_LOST', 'control connection failed', { cause })));
    socket.once('close', () => this.#fail(new AirgapError('CONNECTION_LOST', 'control connection closed')));
  }

  request(message: object, timeoutMs: number): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new AirgapError('TIMEOUT', `no answer from the air-gap controller within ${timeoutMs} ms`));
        this.socket.destroy();
      }, timeoutMs);
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        fn(value);
      };
      this.#waiters.push({ resolve: settle(resolve), reject: settle(reject) });
      this.socket.write(encodeLine(message));
    });
  }

  #receive(chunk: Buffer): void {
    const { lines, error } = this.#framer.push(chunk);
    try {
      for (const line of lines) {
        const message = parseJsonLine(line);
        if (isEventMessage(message)) this.onEvent(message);
        else this.#waiters.shift()?.resolve(message);
      }
    } catch (cause) {
      this.#fail(new AirgapError('PROTOCOL_ERROR', 'the air-gap controller sent an unreadable message', { cause }));
    }
    if (error) this.#fail(new AirgapError('PROTOCOL_ERROR', 'the air-gap controller sent an over-long line', { cause: error }));
  }

  #fail(error: AirgapError): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
    this.socket.destroy();
    this.onEnd();
  }
}

/** Turns a response into the expected shape, or throws the controller's error (same code) or PROTOCOL_ERROR. */
function expectAnswer<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } }, value: unknown): T {
  const failure = ErrorResponseSchema.safeParse(value);
  if (failure.success) {
    const { code, message } = failure.data.error;
    if (isProtocolErrorCode(code)) throw new AirgapError(code, message);
    throw new AirgapError('PROTOCOL_ERROR', `the air-gap controller answered with unknown error ${JSON.stringify(code)}: ${message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AirgapError('PROTOCOL_ERROR', 'unexpected answer from the air-gap controller');
  return parsed.data;
}

function connectControl(control: { host: string; port: number }, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: control.host, port: control.port });
    let connected = false;
    const timer = setTimeout(() => socket.destroy(new Error('connect timed out')), timeoutMs);
    // Stays attached (ignoring later errors, which the ControlChannel handles) so no error goes unheard.
    socket.on('error', (cause) => {
      if (connected) return;
      clearTimeout(timer);
      reject(new AirgapError('CONTROL_UNREACHABLE', `cannot reach the air-gap controller at ${hostPort(control.host, control.port)}`, { cause }));
    });
    socket.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/**
 * Opens a reconciliation window. The window lasts until close(), until the controller's deadline
 * (closesAt), or until this process's control connection ends — whichever is first.
 * Throws AirgapError: CONTROL_UNREACHABLE, TIMEOUT, CONNECTION_LOST, PROTOCOL_ERROR, or the controller's
 * own code (WINDOW_BUSY, INVALID_REQUEST, DRIVER_FAILED, ...).
 */
export async function openWindow(options: OpenWindowOptions): Promise<Window> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const channel = new ControlChannel(await connectControl(options.control, timeoutMs));
  let ended!: (reason: WindowEnd) => void;
  const closed = new Promise<WindowEnd>((resolve) => (ended = resolve));
  let end: WindowEnd | undefined;
  const finish = (reason: WindowEnd): void => {
    if (end !== undefined) return;
    end = reason;
    ended(reason);
    channel.socket.end(); // the window is over; so is this connection
  };
  channel.onEnd = () => finish('connection-lost');

  // The closed event may arrive in the same chunk as the open answer, before we know the window's id.
  let windowId: string | undefined;
  const early: ClosedEvent[] = [];
  channel.onEvent = (message) => {
    const event = ClosedEventSchema.safeParse(message);
    if (!event.success) return;
    if (windowId === undefined) early.push(event.data);
    else if (event.data.windowId === windowId) finish(event.data.reason);
  };

  const request = {
    op: 'open',
    reason: options.reason,
    ...(options.maxMs === undefined ? {} : { maxMs: options.maxMs }),
    ...(options.operator === undefined ? {} : { operator: options.operator }),
  };
  let opened: OpenResponse;
  try {
    opened = expectAnswer(OpenResponseSchema, await channel.request(request, timeoutMs));
  } catch (err) {
    channel.socket.destroy();
    throw err;
  }
  windowId = opened.windowId;
  for (const event of early) if (event.windowId === windowId) finish(event.reason);

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    if (end === undefined) {
      try {
        expectAnswer(CloseResponseSchema, await channel.request({ op: 'close' }, timeoutMs));
      } catch (err) {
        // The window is closed either way once the connection ends; report only a refusal while it is open.
        if (!(err instanceof AirgapError) || (end === undefined && err.code !== 'CONNECTION_LOST' && err.code !== 'NO_WINDOW')) {
          channel.socket.destroy();
          throw err;
        }
      }
    }
    finish(end ?? 'requested');
    if (channel.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      channel.socket.once('close', () => resolve());
      setTimeout(() => channel.socket.destroy(), timeoutMs).unref(); // a controller that will not hang up
    });
  };

  return {
    windowId: opened.windowId,
    relayUrl: `http://${hostPort(opened.relay.host, opened.relay.port)}`,
    closesAt: new Date(opened.closesAt),
    closed,
    close: () => (closing ??= close()),
  };
}
