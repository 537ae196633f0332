// Where interface 2 messages arrive: an embedded aedes 1.x broker (MQTT 3.1.1) served over node:net, or an
// external MQTT 3.1.1/5 broker by URL. Coarse access rules on the embedded broker in plain mode (no per-meter identities):
//   - only the collector's own client (a per-process secret password) may subscribe to the collector's
//     request topics, so no meter can read another meter's readings (they carry consumption);
//   - only the collector's client may publish under meterseal/v1/meter/, so no one can forge its responses;
//   - other clients may publish only under meterseal/v1/collector/, never retained, and subscribe only
//     under meterseal/v1/meter/.
// With mqtt.tls (issue 5 item 9, tls.ts) the broker listens with TLS and requires a client certificate issued
// by the ledger's meter CA; its CN is the meter's identity and tls-acl.ts narrows the rules above to that
// meter's own topics. The collector's own client then attaches in process (no certificate; still the
// per-process secret password), and a certificate whose CN is no meter id is refused at CONNECT.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { TOPIC_ROOT } from '@meterseal/protocol';
import type { CollectorConfig } from './config.js';
import { CollectorError, describe } from './errors.js';
import { guardedConnection } from './packet-guard.js';
import { meterMayPublish, meterMaySubscribe } from './tls-acl.js';
import { inProcessPair, isMeterCn, loadBrokerTls, peerCommonName } from './tls.js';

export const COLLECTOR_USERNAME = 'meterseal-collector';
const METER_TOPICS = `${TOPIC_ROOT}/meter/`;
const COLLECTOR_TOPICS = `${TOPIC_ROOT}/collector/`;

export interface BrokerHandle {
  /** What meters and the collector's own client connect to, e.g. "mqtt://127.0.0.1:1884". */
  readonly url: string;
  readonly embedded: boolean;
  /** How the collector's own client logs in (the embedded broker's secret; the configured ones otherwise). */
  readonly credentials: { username?: string; password?: string };
  /** The MQTT protocol level the collector's client speaks to this broker. */
  readonly protocolVersion: 4 | 5;
  /** With mqtt.tls: how the collector's own client reaches the broker (in process, no certificate needed). */
  readonly connectStream?: () => Duplex;
  close(): Promise<void>;
}

function authError(message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: 4 as AuthenticateError['returnCode'] }); // 3.1.1 §3.2.2.3: bad user name or password
}

export async function startBroker(mqtt: CollectorConfig['mqtt'], { log }: { log: Logger }): Promise<BrokerHandle> {
  if (!mqtt.embedded) {
    return {
      url: mqtt.url!,
      embedded: false,
      credentials: { ...(mqtt.username === undefined ? {} : { username: mqtt.username }), ...(mqtt.password === undefined ? {} : { password: mqtt.password }) },
      protocolVersion: mqtt.protocolVersion ?? 5,
      close: async () => {},
    };
  }
  const blog = log.child({ component: 'broker' });
  const password = randomBytes(24).toString('base64url');
  const expected = Buffer.from(password, 'utf8');
  const own = new WeakSet<Client>();
  const tls = mqtt.tls ? loadBrokerTls(mqtt.tls) : undefined;
  /** TLS connections: the stream aedes reads -> the CN of the client certificate the handshake verified. */
  const certCn = new WeakMap<object, string | undefined>();
  const ownStreams = new WeakSet<object>();
  const connOf = (client: Client | null): object | undefined => (client as unknown as { conn?: object } | null)?.conn;
  /** The meter a TLS client is (its CN); undefined for the collector's own client or in plain mode. */
  const meterOf = (client: Client | null): string | undefined => {
    const conn = connOf(client);
    return conn === undefined ? undefined : certCn.get(conn);
  };
  const broker = await Aedes.createBroker({
    authenticate(client, username, pw, done) {
      if (tls && username !== COLLECTOR_USERNAME) {
        const cn = meterOf(client);
        if (isMeterCn(cn)) return done(null, true);
        blog.warn({ clientId: client.id, cn: cn?.slice(0, 80) }, 'refused a client certificate whose CN is not a meter id');
        return done(Object.assign(new Error('not authorized'), { returnCode: 5 as AuthenticateError['returnCode'] }), false); // 3.1.1 §3.2.2.3: not authorized
      }
      if (username !== COLLECTOR_USERNAME) return done(null, true); // plain mode: no per-meter credentials
      if (tls && !ownStreams.has(connOf(client) ?? {})) {
        blog.warn({ clientId: client.id }, `refused ${COLLECTOR_USERNAME} over the network: its client attaches in process`);
        return done(authError('bad user name or password'), false);
      }
      if (pw && pw.length === expected.length && timingSafeEqual(pw, expected)) {
        own.add(client);
        return done(null, true);
      }
      blog.warn({ clientId: client.id }, `refused a client claiming to be ${COLLECTOR_USERNAME}`);
      return done(authError('bad user name or password'), false);
    },
    authorizeSubscribe(client, sub, done) {
      const meter = own.has(client) ? undefined : meterOf(client);
      if (meter !== undefined && !meterMaySubscribe(meter, sub.topic)) {
        blog.warn({ clientId: client.id, meter, topic: sub.topic.slice(0, 120) }, 'refused a subscription outside the meter\'s own topics');
        return done(null, null); // SUBACK 0x80 (MQTT 3.1.1 §3.9.3)
      }
      if (own.has(client) || sub.topic.startsWith(METER_TOPICS)) return done(null, sub);
      blog.warn({ clientId: client.id, topic: sub.topic.slice(0, 120) }, 'refused a subscription outside meterseal/v1/meter/');
      return done(null, null); // SUBACK 0x80 (MQTT 3.1.1 §3.9.3)
    },
    authorizePublish(client, packet, done) {
      if (client && own.has(client)) return done(null);
      if (!packet.topic.startsWith(COLLECTOR_TOPICS)) return done(new Error('meters publish only under meterseal/v1/collector/'));
      if (packet.retain) return done(new Error('retained messages are not accepted'));
      const meter = meterOf(client);
      if (meter !== undefined && !meterMayPublish(meter, packet.topic)) {
        blog.warn({ clientId: client?.id, meter, topic: packet.topic.slice(0, 120) }, 'refused a publish outside the meter\'s own topics');
        return done(new Error(`meter ${meter} may not publish to ${packet.topic.slice(0, 120)}`));
      }
      return done(null);
    },
  });
  broker.on('clientError', (client, err) => blog.debug({ clientId: client.id, err: describe(err) }, 'mqtt client error'));

  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const stream = guardedConnection(socket, mqtt.maxPacketBytes, (err) =>
      blog.warn({ remote: socket.remoteAddress, err: describe(err) }, 'connection cut: oversized or malformed MQTT packet'),
    );
    if (tls) certCn.set(stream, peerCommonName(socket as TLSSocket)); // the handshake has verified it (rejectUnauthorized)
    broker.handle(stream);
  };
  const server: Server = tls
    ? createTlsServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true }, onSocket) // a client certificate from the meter CA, or no connection
    : createServer(onSocket);
  if (tls) {
    server.on('tlsClientError', (err, socket) => blog.warn({ remote: socket.remoteAddress, err: describe(err) }, 'TLS handshake refused'));
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: mqtt.host, port: mqtt.port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (cause) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw new CollectorError('BROKER_FAILED', `the embedded broker cannot listen on ${mqtt.host}:${mqtt.port}`, { cause });
  }
  server.on('error', (err) => blog.error({ err: describe(err) }, 'broker listener error'));
  const port = (server.address() as AddressInfo).port;
  const url = `${tls ? 'mqtts' : 'mqtt'}://${mqtt.host.includes(':') ? `[${mqtt.host}]` : mqtt.host}:${port}`;
  blog.info({ url }, 'embedded MQTT broker listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    embedded: true,
    credentials: { username: COLLECTOR_USERNAME, password },
    ...(tls
      ? {
        connectStream: () => {
          const [mine, theirs] = inProcessPair();
          ownStreams.add(theirs);
          broker.handle(theirs);
          return mine;
        },
      }
      : {}),
    protocolVersion: 4, // aedes 1.x refuses protocol level 5 (its CONNACK says "unacceptable protocol version")
    close: () =>
      (closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await serverClosed;
      })()),
  };
}
