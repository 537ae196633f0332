// Where interface 2 messages arrive: an embedded aedes 1.x broker (MQTT 3.1.1) served over node:net, or an
// external MQTT 3.1.1/5 broker by URL. Coarse access rules on the embedded broker (no per-meter identities yet):
//   - only the collector's own client (a per-process secret password) may subscribe to the collector's
//     request topics, so no meter can read another meter's readings (they carry consumption);
//   - only the collector's client may publish under meterseal/v1/meter/, so no one can forge its responses;
//   - other clients may publish only under meterseal/v1/collector/, never retained, and subscribe only
//     under meterseal/v1/meter/.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { TOPIC_ROOT } from '@meterseal/protocol';
import type { CollectorConfig } from './config.js';
import { CollectorError, describe } from './errors.js';
import { guardedConnection } from './packet-guard.js';

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
  const broker = await Aedes.createBroker({
    authenticate(client, username, pw, done) {
      if (username !== COLLECTOR_USERNAME) return done(null, true); // meters: no per-meter credentials yet
      if (pw && pw.length === expected.length && timingSafeEqual(pw, expected)) {
        own.add(client);
        return done(null, true);
      }
      blog.warn({ clientId: client.id }, `refused a client claiming to be ${COLLECTOR_USERNAME}`);
      return done(authError('bad user name or password'), false);
    },
    authorizeSubscribe(client, sub, done) {
      if (own.has(client) || sub.topic.startsWith(METER_TOPICS)) return done(null, sub);
      blog.warn({ clientId: client.id, topic: sub.topic.slice(0, 120) }, 'refused a subscription outside meterseal/v1/meter/');
      return done(null, null); // SUBACK 0x80 (MQTT 3.1.1 §3.9.3)
    },
    authorizePublish(client, packet, done) {
      if (client && own.has(client)) return done(null);
      if (!packet.topic.startsWith(COLLECTOR_TOPICS)) return done(new Error('meters publish only under meterseal/v1/collector/'));
      if (packet.retain) return done(new Error('retained messages are not accepted'));
      return done(null);
    },
  });
  broker.on('clientError', (client, err) => blog.debug({ clientId: client.id, err: describe(err) }, 'mqtt client error'));

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const stream = guardedConnection(socket, mqtt.maxPacketBytes, (err) =>
      blog.warn({ remote: socket.remoteAddress, err: describe(err) }, 'connection cut: oversized or malformed MQTT packet'),
    );
    broker.handle(stream);
  });
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
  const url = `mqtt://${mqtt.host.includes(':') ? `[${mqtt.host}]` : mqtt.host}:${port}`;
  blog.info({ url }, 'embedded MQTT broker listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    embedded: true,
    credentials: { username: COLLECTOR_USERNAME, password },
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
