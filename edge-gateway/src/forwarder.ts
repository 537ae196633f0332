// Meters that sign their own readings connect to the gateway's local broker (aedes, MQTT 3.1.1) and publish
// exactly what they would publish to the ledger and the collector. The gateway forwards each message
// untouched — same topic, same bytes, QoS 1 — to the matching upstream broker, and passes the answers back on
// the meter's response topic. It stores nothing and signs nothing: the meter's own outbox is the durable copy,
// and the meter counts a reading delivered only on the ledger's or collector's answer (at-least-once end to end).
// Backpressure: while more than maxQueued messages of one uplink await their upstream PUBACK, aedes is not told
// the message was taken, so it stops reading from that meter's socket (the flood slows its sender).
import { createServer, type Server } from 'node:net';
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { CollectorTopics, LedgerTopics, METER_ID_PATTERN, TOPIC_ROOT, responseTopic } from '@meterseal/protocol';
import { GatewayError } from './errors.js';

const LEDGER_PREFIX = `${TOPIC_ROOT}/ledger/`;
const COLLECTOR_PREFIX = `${TOPIC_ROOT}/collector/`;
const METER_PREFIX = `${TOPIC_ROOT}/meter/`;

export interface ForwarderOptions {
  host: string;
  port: number;
  ledgerUrl: string;
  collectorUrl: string;
  maxQueued: number;
  /** Upstream connections per side; a meter always uses the same one, so its messages keep their order. */
  connections?: number;
  log: Logger;
}

export interface ForwarderStats {
  forwarded: { ledger: number; collector: number };
  answered: number;
  refused: number;
  queued: { ledger: number; collector: number };
}

export interface ForwarderHandle {
  url: string;
  stats(): ForwarderStats;
  close(): Promise<void>;
}

type Side = 'ledger' | 'collector';

/**
 * Whose answer to watch for: the topic's last level for anchors, gaps, keys and deliveries; for the identity
 * exchanges the record's meter id (every signed identity record starts type, version, str8 meterId,
 * docs/protocol.md §5-7; a challenge request is JSON {"meterId"}). Best effort on hostile bytes: never throws.
 */
export function meterOfRequest(topic: string, payload: Buffer): string | undefined {
  const last = topic.slice(topic.lastIndexOf('/') + 1);
  if (METER_ID_PATTERN.test(last) && topic.split('/').length === 5) return last;
  let id: unknown;
  if (payload[0] === 0x7b) {
    try {
      id = (JSON.parse(payload.toString('utf8')) as { meterId?: unknown }).meterId;
    } catch {
      return undefined;
    }
  } else if (payload.length >= 3 && payload.length >= 3 + payload[2]!) {
    id = payload.subarray(3, 3 + payload[2]!).toString('utf8');
  }
  return typeof id === 'string' && METER_ID_PATTERN.test(id) ? id : undefined;
}

class Upstream {
  readonly client: MqttClient;
  private readonly subscribed = new Map<string, Promise<void>>();
  queued = 0;
  forwarded = 0;
  private readonly roomWaiters: Array<() => void> = [];

  constructor(readonly side: Side, url: string, private readonly maxQueued: number, onAnswer: (topic: string, payload: Buffer) => void, log: Logger) {
    this.client = mqtt.connect(url, {
      clientId: `meterseal-gateway-fwd-${side}-${Math.random().toString(16).slice(2, 10)}`,
      // jittered, so that gateways cut off together do not all come back in the same second
      protocolVersion: 4, reconnectPeriod: 750 + Math.floor(Math.random() * 750), connectTimeout: 5000, clean: true,
      // no table of 65,536 pre-made 2-byte Buffers for packet ids (mqtt-packet numbers.js; the switch is global,
      // so aedes writes without it too): ~6 MB of heap saved, measured in the bench's heap snapshot
      writeCache: false,
    });
    this.client.on('message', onAnswer);
    this.client.on('error', (err) => log.warn({ side, err: err.message }, 'upstream error'));
    this.client.on('connect', () => {
      // clean session: subscriptions are gone after a reconnect; make them again
      for (const id of this.subscribed.keys()) this.client.subscribe(responseTopic(id), { qos: 1 });
    });
  }

  /** Subscribes to the meter's answers before its first request is forwarded. */
  watch(meterId: string): Promise<void> {
    let p = this.subscribed.get(meterId);
    if (!p) {
      p = new Promise<void>((resolve) => {
        this.client.subscribe(responseTopic(meterId), { qos: 1 }, () => resolve()); // resolves on error too: the meter resends
      });
      this.subscribed.set(meterId, p);
    }
    return p;
  }

  /** Resolves once fewer than maxQueued messages await their PUBACK. */
  room(): Promise<void> | undefined {
    if (this.queued < this.maxQueued) return undefined;
    return new Promise((r) => this.roomWaiters.push(r));
  }

  forward(topic: string, payload: Buffer): void {
    this.queued++;
    this.client.publish(topic, payload, { qos: 1 }, () => {
      this.queued--;
      this.forwarded++;
      while (this.queued < this.maxQueued && this.roomWaiters.length > 0) this.roomWaiters.shift()!();
    });
  }
}

export async function startForwarder(o: ForwarderOptions): Promise<ForwarderHandle> {
  const log = o.log.child({ component: 'forwarder' });
  let answered = 0;
  let refused = 0;
  const broker = await Aedes.createBroker({
    authorizeSubscribe(_client, sub, done) {
      if (sub.topic.startsWith(METER_PREFIX)) return done(null, sub);
      return done(null, null); // SUBACK 0x80 (MQTT 3.1.1 §3.9.3)
    },
    authorizePublish(client: Client | null, packet, done) {
      if (!client) return done(null); // the gateway's own (answers)
      if (packet.retain) return done(new Error('retained messages are not accepted'));
      if (packet.topic.startsWith(LEDGER_PREFIX) || packet.topic.startsWith(COLLECTOR_PREFIX)) return done(null);
      refused++;
      return done(new Error('meters publish only under meterseal/v1/ledger/ and meterseal/v1/collector/'));
    },
  });
  const answer = (topic: string, payload: Buffer): void => {
    answered++;
    broker.publish({ cmd: 'publish', topic, payload, qos: 1, dup: false, retain: false }, () => undefined);
  };
  // a broker handles each connection's packets in order: several connections per side keep one slow
  // acknowledgement from holding up every meter behind it
  const n = Math.max(1, o.connections ?? 4);
  const pools: Record<Side, Upstream[]> = {
    ledger: Array.from({ length: n }, () => new Upstream('ledger', o.ledgerUrl, Math.ceil(o.maxQueued / n), answer, log)),
    collector: Array.from({ length: n }, () => new Upstream('collector', o.collectorUrl, Math.ceil(o.maxQueued / n), answer, log)),
  };
  const pick = (side: Side, meterId: string | undefined): Upstream => {
    let h = 0;
    if (meterId !== undefined) for (let i = 0; i < meterId.length; i++) h = (h * 31 + meterId.charCodeAt(i)) >>> 0;
    return pools[side][h % n]!;
  };
  const sum = (side: Side, k: 'forwarded' | 'queued'): number => pools[side].reduce((a, u) => a + u[k], 0);

  const deliver = (packet: AedesPublishPacket, done: () => void): void => {
    const side: Side = packet.topic.startsWith(LEDGER_PREFIX) ? 'ledger' : 'collector';
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const meterId = meterOfRequest(packet.topic, payload);
    const u = pick(side, meterId);
    const go = (): void => {
      u.forward(packet.topic, payload);
      const wait = u.room();
      if (wait) void wait.then(done);
      else done();
    };
    if (meterId !== undefined) void u.watch(meterId).then(go);
    else go();
  };
  const filters = [`${LEDGER_PREFIX}#`, `${COLLECTOR_PREFIX}#`];
  for (const f of filters) await new Promise<void>((r) => broker.subscribe(f, deliver, r));

  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new GatewayError('LISTEN_FAILED', `local broker cannot listen on ${o.host}:${o.port}: ${err.message}`, { cause: err })));
    server.listen(o.port, o.host, resolve);
  });
  const addr = server.address();
  const url = `mqtt://${o.host}:${typeof addr === 'object' && addr ? addr.port : o.port}`;
  log.info({ url, ledger: o.ledgerUrl, collector: o.collectorUrl, topics: [LedgerTopics.anchorFilter, CollectorTopics.readingFilter] }, 'forwarding meters\' own signed traffic');

  return {
    url,
    stats: () => ({
      forwarded: { ledger: sum('ledger', 'forwarded'), collector: sum('collector', 'forwarded') },
      answered, refused,
      queued: { ledger: sum('ledger', 'queued'), collector: sum('collector', 'queued') },
    }),
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      for (const c of broker.connectedClients ? Object.values((broker as unknown as { clients: Record<string, Client> }).clients) : []) c.close();
      await new Promise<void>((r) => broker.close(() => r()));
      await Promise.all([...pools.ledger, ...pools.collector].map((u) => u.client.endAsync(true)));
    },
  };
}
