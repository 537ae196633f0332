import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { AirgapError } from '../errors.js';
import type { AirgapDriver, Endpoint, Traffic } from './driver.js';

export interface RelayDriverOptions {
  /** Where to listen while open (a loopback address; port 0 = ephemeral, chosen again on every open). */
  listen: Endpoint;
  /** Where each accepted connection is forwarded (the ledger's query API). */
  target: Endpoint;
  log: Logger;
  /** Give up on connecting to the target after this long (default 10 s). */
  connectTimeoutMs?: number;
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
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
