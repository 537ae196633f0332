import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { AirgapError } from '../errors.js';
import type { AirgapDriver, Endpoint, Traffic } from './driver.js';
import { RequestHeadFramer, checkRequest, parseRequestHead, refusalResponse } from './http-filter.js';

/** A request the relay refused: what was asked (clipped, printable) and why. */
export interface RefusedRequest {
  code: string;
  message: string;
  /** "GET /v1/stats" — the request line's method and target, or "" if it could not be parsed. */
  request: string;
  remote: string;
}

export interface RelayDriverOptions {
  /** Where to listen while open (a loopback address; port 0 = ephemeral, chosen again on every open). */
  listen: Endpoint;
  /** Where each accepted connection is forwarded (the ledger's query API). */
  target: Endpoint;
  log: Logger;
  /** Give up on connecting to the target after this long (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * HTTP policy (http-filter.ts): forward only body-less GETs on these paths, refuse anything else with
   * 400/403/431 and close that connection. null: pass bytes through untouched (plain TCP relay).
   */
  httpAllowlist?: readonly string[] | null;
  /** Called for every refused request (the controller audits it). */
  onRefused?: (refusal: RefusedRequest) => void;
}

/**
 * The `relay` driver: a userspace TCP relay. While open it listens on `listen` and pipes each accepted
 * connection to `target`; while closed nothing listens, so connections are refused. close() stops
 * listening and destroys every relayed connection in both directions at once. A software gap: it is
 * only as trustworthy as the host it runs on (README §Security).
 */
export class RelayDriver implements AirgapDriver {
  readonly name = 'relay';
  readonly #options: RelayDriverOptions;
  #server: Server | undefined;
  #closed: Promise<void> | undefined;
  readonly #sockets = new Set<Socket>();
  #traffic: Traffic = { toTarget: 0, fromTarget: 0 };

  constructor(options: RelayDriverOptions) {
    this.#options = options;
  }

  isOpen(): boolean {
    return this.#server !== undefined;
  }

  traffic(): Traffic {
    return { ...this.#traffic };
  }

  /** Relayed connections alive right now (each has two sockets). */
  activeConnections(): number {
    return this.#sockets.size / 2;
  }

  async open(): Promise<Endpoint> {
    if (this.#server) throw new AirgapError('DRIVER_STATE', 'relay is already open');
    this.#traffic = { toTarget: 0, fromTarget: 0 };
    const server = createServer({ allowHalfOpen: true }, (socket) => this.#relay(socket));
    this.#server = server;
    this.#closed = new Promise((resolve) => server.once('close', () => resolve()));
    const { host, port } = this.#options.listen;
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => {
          server.off('listening', onListening);
          reject(err);
        };
        const onListening = (): void => {
          server.off('error', onError);
          resolve();
        };
        server.once('error', onError);
        server.once('listening', onListening);
        server.once('close', () => reject(new AirgapError('DRIVER_STATE', 'relay closed while opening')));
        server.listen({ host, port, exclusive: true });
      });
    } catch (cause) {
      this.#server = undefined;
      server.close();
      throw new AirgapError('DRIVER_FAILED', `relay could not listen on ${host}:${port}`, { cause });
    }
    server.on('error', (err) => this.#options.log.error({ err }, 'relay listener error'));
    const address = server.address();
    if (address === null || typeof address === 'string') {
      await this.close();
      throw new AirgapError('DRIVER_FAILED', 'relay listener has no TCP address');
    }
    return { host: address.address, port: address.port };
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.close(); // stop accepting now: the port refuses from here on
    for (const socket of this.#sockets) socket.destroy(); // cut every relayed connection, both halves
    this.#sockets.clear();
    await this.#closed;
  }

  #refuse(client: Socket, upstream: Socket, err: unknown, chunk: Buffer): void {
    const e = err instanceof AirgapError ? err : new AirgapError('HTTP_MALFORMED', 'malformed request');
    const firstLine = chunk.toString('latin1').split('\r\n', 1)[0] ?? '';
    const request = firstLine.split(' ').slice(0, 2).join(' ').replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
    this.#options.log.warn({ code: e.code, request, remote: client.remoteAddress }, 'relay refused a request');
    try {
      this.#options.onRefused?.({ code: e.code, message: e.message, request, remote: client.remoteAddress ?? '' });
    } catch (auditErr) {
      this.#options.log.error({ err: auditErr }, 'recording a refused request failed');
    }
    upstream.unpipe(client);
    upstream.destroy();
    client.end(refusalResponse(e));
  }

  #relay(client: Socket): void {
    if (!this.#server) {
      client.destroy();
      return;
    }
    const { target, connectTimeoutMs = 10_000 } = this.#options;
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    }
    upstream.setTimeout(connectTimeoutMs, () => upstream.destroy(new Error('connect to target timed out')));
    upstream.once('connect', () => upstream.setTimeout(0));
    // An error on either side (reset, refused, timeout) kills both; a clean FIN is passed on by pipe().
    const kill = (err: Error): void => {
      this.#options.log.debug({ err: err.message }, 'relayed connection failed');
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill);
    upstream.on('error', kill);
    // When one side is gone, finish the other gracefully so bytes already queued still drain; a stuck
    // peer is cut when the window closes.
    client.once('close', () => upstream.end());
    upstream.once('close', () => client.end());
    client.on('data', (chunk: Buffer) => {
      this.#traffic.toTarget += chunk.length;
    });
    upstream.on('data', (chunk: Buffer) => {
      this.#traffic.fromTarget += chunk.length;
    });
    upstream.pipe(client);
    const allowlist = this.#options.httpAllowlist;
    if (allowlist === null || allowlist === undefined) {
      client.pipe(upstream);
      return;
    }
    // README §Policy: each request head is checked before a byte of it reaches the ledger.
    const framer = new RequestHeadFramer();
    let refused = false;
    client.on('data', (chunk: Buffer) => {
      if (refused) return;
      let heads: Buffer[];
      try {
        heads = framer.push(chunk);
        for (const head of heads) checkRequest(parseRequestHead(head.subarray(0, head.length - 4)), allowlist);
      } catch (err) {
        refused = true;
        this.#refuse(client, upstream, err, chunk);
        return;
      }
      for (const head of heads) {
        if (!upstream.write(head)) {
          client.pause();
          upstream.once('drain', () => client.resume());
        }
      }
    });
    client.once('end', () => {
      if (!refused) upstream.end();
    });
  }
}
