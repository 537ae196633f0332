// The embedded MQTT broker of interface 1: aedes 1.x served over node:net. aedes 1.x speaks MQTT 3.1.1
// only — it answers an MQTT 5 CONNECT with return code 1, "unacceptable protocol version" (checked in
// broker.test.ts) — which is why docs/protocol.md §9 addresses responses by op/ref on the meter's response
// topic. Coarse access rules (no per-meter identities yet):
//   - only the ledger's own client (a per-process secret password) may subscribe to request topics, so
//     no meter can read another's registration request (which carries the customer account);
//   - only the ledger's client may publish under meterseal/v1/meter/, so no one can forge responses;
//   - other clients may subscribe only under meterseal/v1/meter/ and may not publish retained messages.
// With `tls` (issue 5 item 9) the broker speaks MQTT over TLS, requires a client certificate signed by
// `tls.ca`, and a client whose certificate CN is a meter id gets the per-meter rules of acl.ts on top; the
// shared bootstrap certificate (CN meterseal-bootstrap, meter-ca.ts) reaches only the registration topics.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { METER_ID_PATTERN, TOPIC_ROOT } from '@meterseal/protocol';
import { mayPublish, maySubscribe } from './acl.js';
import { LedgerError, describe } from './errors.js';
import { BOOTSTRAP_CN } from './meter-ca.js';

export const LEDGER_USERNAME = 'meterseal-ledger';
const METER_TOPICS = `${TOPIC_ROOT}/meter/`;

export interface EmbeddedBroker {
  url: string;
  port: number;
  /** Credentials for the ledger's own client (over a socket; the ledger itself attaches in process). */
  credentials: { username: string; password: string };
  /** The aedes instance, for the ledger's in-process side (embedded-transport.ts). */
  aedes: Aedes;
  /** The remote address of a connected client by its client id (per-source auth limits, auth-log.ts). */
  addressOf(clientId: string): string | undefined;
  close(): Promise<void>;
}

function authError(message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: 4 as AuthenticateError['returnCode'] }); // 4: bad user name or password
}

export interface BrokerTls {
  /** PEM files: the CA that signs meter certificates, and the broker's own certificate and key. */
  ca: string;
  cert: string;
  key: string;
}

/** The certificate CN of a TLS client, or undefined (plain TCP). */
function peerCn(client: Client | null): string | undefined {
  const conn = (client as unknown as { conn?: Partial<TLSSocket> } | null)?.conn;
  if (!conn || typeof conn.getPeerCertificate !== 'function') return undefined;
  const cn = conn.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' ? cn : undefined;
}

/** The certificate CN of a TLS client when it is a meter id (acl.ts); undefined otherwise. */
function meterOf(client: Client | null): string | undefined {
  const cn = peerCn(client);
  return cn !== undefined && cn !== BOOTSTRAP_CN && METER_ID_PATTERN.test(cn) ? cn : undefined;
}

/** A client on the shared bootstrap certificate (meter-ca.ts): registration topics only. */
const isBootstrap = (client: Client | null): boolean => peerCn(client) === BOOTSTRAP_CN;

export async function startEmbeddedBroker(opts: { host: string; port: number; log: Logger; tls?: BrokerTls }): Promise<EmbeddedBroker> {
  const password = randomBytes(24).toString('base64url');
  const expected = Buffer.from(password, 'utf8');
  const ledgerClients = new WeakSet<Client>();
  const log = opts.log;

  const broker = await Aedes.createBroker({
    authenticate(client, username, pw, done) {
      if (username !== LEDGER_USERNAME) return done(null, true); // meters: no per-meter credentials yet
      if (pw && pw.length === expected.length && timingSafeEqual(pw, expected)) {
        ledgerClients.add(client);
        return done(null, true);
      }
      log.warn({ clientId: client.id }, `refused a client claiming to be ${LEDGER_USERNAME}`);
      return done(authError('bad user name or password'), false);
    },
    authorizeSubscribe(client, sub, done) {
      if (isBootstrap(client)) {
        if (maySubscribe({ kind: 'bootstrap' }, sub.topic)) return done(null, sub);
        log.warn({ clientId: client.id, topic: sub.topic.slice(0, 120) }, 'refused a bootstrap subscription outside the bootstrap response topics');
        return done(null, null);
      }
      const meter = ledgerClients.has(client) ? undefined : meterOf(client);
      if (meter !== undefined && !maySubscribe({ kind: 'meter', meterId: meter }, sub.topic)) {
        log.warn({ clientId: client.id, meter, topic: sub.topic.slice(0, 120) }, 'refused a subscription outside the meter\'s own topics');
        return done(null, null);
      }
      if (ledgerClients.has(client) || sub.topic.startsWith(METER_TOPICS)) return done(null, sub);
      log.warn({ clientId: client.id, topic: sub.topic.slice(0, 120) }, 'refused a subscription outside meterseal/v1/meter/');
      return done(null, null); // SUBACK 0x80 (MQTT 3.1.1 §3.9.3)
    },
    authorizePublish(client, packet, done) {
      if (client && ledgerClients.has(client)) return done(null);
      if (client) (packet as { clientId?: string }).clientId = client.id; // who sent it, for per-source limits (embedded-transport.ts)
      if (packet.topic.startsWith('$SYS')) return done(new Error('$SYS topics are reserved'));
      if (packet.topic.startsWith(METER_TOPICS)) return done(new Error('only the ledger publishes under meterseal/v1/meter/'));
      if (packet.retain) return done(new Error('retained messages are not accepted'));
      if (isBootstrap(client) && !mayPublish({ kind: 'bootstrap' }, packet.topic)) {
        log.warn({ clientId: client?.id, topic: packet.topic.slice(0, 120) }, 'refused a bootstrap publish outside the registration topic');
        return done(new Error(`the bootstrap identity may not publish to ${packet.topic.slice(0, 120)}`));
      }
      const meter = meterOf(client);
      if (meter !== undefined && !mayPublish({ kind: 'meter', meterId: meter }, packet.topic)) {
        log.warn({ clientId: client?.id, meter, topic: packet.topic.slice(0, 120) }, 'refused a publish outside the meter\'s own topics');
        return done(new Error(`meter ${meter} may not publish to ${packet.topic.slice(0, 120)}`));
      }
      return done(null);
    },
  });
  broker.on('clientError', (client, err) => log.debug({ clientId: client.id, err: describe(err) }, 'mqtt client error'));

  const sockets = new Set<Socket>();
  // noDelay: requests and answers are small back-to-back writes; with Nagle's algorithm each waits for a
  // delayed ACK (~40 ms per hop, RFC 1122 §4.2.3.2) instead of leaving at once.
  const onSocket = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  };
  const server: Server = opts.tls
    ? createTlsServer({
      ca: readFileSync(opts.tls.ca), cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key),
      requestCert: true, rejectUnauthorized: true, noDelay: true, // a client certificate signed by the CA, or no connection
    }, onSocket)
    : createServer({ noDelay: true }, onSocket);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (cause) {
    await new Promise<void>((r) => broker.close(() => r()));
    throw new LedgerError('LISTEN_FAILED', `embedded MQTT broker cannot listen on ${opts.host}:${opts.port}: ${describe(cause)}`, { cause });
  }
  server.on('error', (err) => log.error({ err: describe(err) }, 'mqtt server error'));
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  let closing: Promise<void> | undefined;
  return {
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://${hostInUrl}:${port}`,
    port,
    credentials: { username: LEDGER_USERNAME, password },
    aedes: broker,
    addressOf(clientId) {
      const clients = (broker as unknown as { clients: Record<string, { conn?: { remoteAddress?: string } } | undefined> }).clients;
      const conn = clients[clientId]?.conn;
      return conn?.remoteAddress;
    },
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((r) => server.close(() => r()));
        await new Promise<void>((r) => broker.close(() => r()));
        for (const s of sockets) s.destroy();
        await serverClosed;
      })();
      return closing;
    },
  };
}
