// The ledger's own MQTT client (mqtt.js): connects to the embedded broker (MQTT 3.1.1) or an external one
// (MQTT 5 by default), subscribes to the request topics at QoS 1 and feeds the router one message at a
// time. mqtt.js reconnects and re-subscribes by itself after a lost connection.
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { LedgerError, describe } from './errors.js';
import { REQUEST_TOPICS, type InboundMessage, type OutboundMessage } from './rpc.js';

const CLOSE_GRACE_MS = 2000;

export interface TransportOptions {
  url: string;
  protocolVersion: 4 | 5;
  username?: string;
  password?: string;
  /** mqtts: PEM files of the CA to trust and of the ledger's client certificate and key (meter-ca.ts). */
  tls?: { ca: string; cert: string; key: string };
  log: Logger;
  onMessage(msg: InboundMessage): Promise<void>;
  /** Backpressure: a promise to wait for before the next message is read (and this one acknowledged). */
  room?(): Promise<void> | undefined;
}

/** How the router's answers leave, whatever carries them. */
export interface LedgerTransport {
  publish(m: OutboundMessage): Promise<void>;
  close(): Promise<void>;
}

export interface MqttTransport extends LedgerTransport {
  client: MqttClient;
}

/**
 * Turns off Nagle's algorithm on the client's TCP socket (mqtt.js leaves it on): small request and answer
 * packets would otherwise wait for a delayed ACK (RFC 1122 §4.2.3.2), ~40 ms per hop.
 */
export function setNoDelay(client: MqttClient): void {
  const stream = client.stream as { setNoDelay?: (on: boolean) => void } | undefined;
  stream?.setNoDelay?.(true);
}

export async function connectTransport(o: TransportOptions): Promise<MqttTransport> {
  const options: IClientOptions = {
    protocolVersion: o.protocolVersion,
    clientId: `meterseal-ledger-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.tls ? { ca: readFileSync(o.tls.ca), cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key), rejectUnauthorized: true } : {}),
  };
  let client: MqttClient;
  try {
    client = await mqtt.connectAsync(o.url, options, false);
  } catch (cause) {
    throw new LedgerError('MQTT_CONNECT_FAILED', `cannot connect to the MQTT broker at ${o.url}: ${describe(cause)}`, { cause });
  }
  setNoDelay(client);
  client.on('connect', () => setNoDelay(client));
  client.on('error', (err) => o.log.error({ err: describe(err) }, 'mqtt client error'));
  client.on('reconnect', () => o.log.warn({ url: o.url }, 'mqtt reconnecting'));

  // Requests are decided in arrival order (anchors in groups, anchor-ingest.ts); their answers are left in
  // flight, tracked for close().
  const inflight = new Set<Promise<void>>();
  // mqtt.js reads the next packet only after handleMessage's callback: holding it slows a flooding sender.
  const room = o.room;
  if (room) {
    client.handleMessage = (_packet, callback) => {
      const wait = room();
      if (wait) void wait.then(() => callback());
      else callback();
    };
  }
  client.on('message', (topic, payload, packet) => {
    const props = packet.properties;
    const msg: InboundMessage = { topic, payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength) };
    if (props?.responseTopic !== undefined) msg.responseTopic = props.responseTopic;
    if (props?.correlationData !== undefined) msg.correlationData = new Uint8Array(props.correlationData);
    const p = o.onMessage(msg).catch((err) => o.log.error({ err: describe(err) }, 'request dispatch failed'));
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  });

  try {
    const granted = await client.subscribeAsync(REQUEST_TOPICS.map((t) => t), { qos: 1 });
    const refused = granted.filter((g) => g.qos !== 1 && g.qos !== 0);
    if (refused.length) throw new Error(`subscription refused: ${refused.map((g) => g.topic).join(', ')}`);
  } catch (cause) {
    await client.endAsync(true).catch(() => undefined);
    throw new LedgerError('MQTT_CONNECT_FAILED', `cannot subscribe to the request topics at ${o.url}: ${describe(cause)}`, { cause });
  }

  return {
    client,
    async publish(m) {
      const opts: IClientPublishOptions = { qos: 1 };
      if (m.correlationData && o.protocolVersion === 5) opts.properties = { correlationData: Buffer.from(m.correlationData) };
      await client.publishAsync(m.topic, m.payload, opts);
    },
    async close() {
      // Let answers already being published get their PUBACK, but never hang on a broker that is gone.
      const grace = new Promise<'timeout'>((r) => setTimeout(r, CLOSE_GRACE_MS, 'timeout').unref());
      const settled = await Promise.race([Promise.allSettled([...inflight]).then(() => 'done' as const), grace]);
      await client.endAsync(settled === 'timeout');
    },
  };
}
