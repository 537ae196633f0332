import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { AirgapError } from './errors.js';
import { LineFramer } from './framer.js';
import { encodeLine, errorResponse, parseRequest, type ControlRequest } from './protocol.js';

/** What the controller does with a connection's requests and with its end. */
export interface ControlHandler {
  /** Answers one request. May throw AirgapError (sent as an error response); anything else is INTERNAL. */
  request(connection: ControlConnection, request: ControlRequest): Promise<object>;
  /** The connection ended, errored or was closed; called exactly once. */
  gone(connection: ControlConnection): void;
}

/** Stop reading requests while this much of our output is still unsent (a client that does not read). */
const WRITE_HIGH_WATER = 64 * 1024;

/** How long end() waits for our last bytes to leave before destroying the socket. */
const END_GRACE_MS = 2_000;

type Item = { line: Uint8Array } | { error: AirgapError };

/**
 * One collector's control connection: frames lines (≤ 4096 bytes), answers them strictly in order, one at a
 * time (the socket is paused meanwhile), and tells the handler the moment the connection is gone.
 * Hostile input gets an error response; an over-long line also ends the connection, since the stream
 * can no longer be framed.
 */
export class ControlConnection {
  readonly id: number;
  readonly #socket: Socket;
  readonly #handler: ControlHandler;
  readonly #log: Logger;
  readonly #framer = new LineFramer();
  readonly #queue: Item[] = [];
  #busy = false;
  #alive = true;
  #ending = false;

  constructor(id: number, socket: Socket, handler: ControlHandler, log: Logger) {
    this.id = id;
    this.#socket = socket;
    this.#handler = handler;
    this.#log = log;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 5_000);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    // Whichever comes first: a FIN (the collector closed or its process died), an error, or the close.
    socket.once('end', () => this.#gone());
    socket.on('error', (err) => {
      this.#log.debug({ connection: id, err: err.message }, 'control connection error');
      this.#gone();
    });
    socket.once('close', () => this.#gone());
  }

  /** False once the connection has ended, errored or been closed by either side. */
  get alive(): boolean {
    return this.#alive;
  }

  /** Sends one message if the connection is still up; returns whether it was handed to the socket. */
  send(message: object): boolean {
    if (!this.#alive || this.#socket.writableEnded) return false;
    this.#socket.write(encodeLine(message));
    return true;
  }

  /** Flushes what was sent, then closes; a peer that will not take the bytes is cut after END_GRACE_MS. */
  end(): void {
    this.#ending = true;
    this.#socket.end(() => this.#socket.destroy());
    setTimeout(() => this.#socket.destroy(), END_GRACE_MS).unref();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #receive(chunk: Buffer): void {
    if (this.#ending) return;
    const { lines, error } = this.#framer.push(chunk);
    for (const line of lines) if (line.length > 0) this.#queue.push({ line }); // blank lines are ignored
    if (error) {
      this.#ending = true; // nothing after an over-long line is read
      this.#queue.push({ error });
    }
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    this.#socket.pause();
    try {
      for (let item = this.#queue.shift(); item && this.#alive; item = this.#queue.shift()) {
        if ('error' in item) {
          this.#log.warn({ connection: this.id, code: item.error.code }, 'control line too long; closing');
          this.send(errorResponse(item.error));
          this.end();
          return;
        }
        this.send(await this.#answer(item.line));
        if (this.#socket.writableLength > WRITE_HIGH_WATER) await this.#drained();
      }
    } catch (err) {
      this.#log.error({ connection: this.id, err }, 'control connection failed');
      this.destroy();
    } finally {
      this.#busy = false;
      if (this.#alive && !this.#ending) this.#socket.resume();
    }
  }

  async #answer(line: Uint8Array): Promise<object> {
    try {
      return await this.#handler.request(this, parseRequest(line));
    } catch (err) {
      if (err instanceof AirgapError) {
        this.#log.warn({ connection: this.id, code: err.code, detail: err.message }, 'control request refused');
        return errorResponse(err);
      }
      this.#log.error({ connection: this.id, err }, 'control request failed');
      return errorResponse(new AirgapError('INTERNAL', 'internal error; see the controller log'));
    }
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.once('drain', done);
      this.#socket.once('close', done);
    });
  }

  #gone(): void {
    if (!this.#alive) return;
    this.#alive = false;
    this.#queue.length = 0;
    this.#handler.gone(this);
  }
}
