// Interface 2 over MQTT (docs/protocol.md §9): one mqtt.js client on the collector's broker, subscribed to
// key announcements and deliveries at QoS 1. Each answer goes to the meter's response topic
// meterseal/v1/meter/<meterId>/response — or, for an MQTT 5 request with a Response Topic inside that
// meter's own topics, to that topic with the request's Correlation Data (MQTT 5.0 §4.10) — once the store
// has committed.
import { randomBytes, type KeyObject } from 'node:crypto';
import type { Duplex } from 'node:stream';
import mqtt, { MqttClient, type IClientOptions, type IPublishPacket } from 'mqtt';
import type { Logger } from 'pino';
import { CollectorTopics, TOPIC_ROOT, isCorrectionDelivery, isGapDelivery, responseTopic } from '@meterseal/protocol';
import { correctionDelivery, type CorrectionStore } from './corrections.js';
import { gapDelivery, type GapStore } from './gaps.js';
import { CollectorError, describe } from './errors.js';
import { Intake, type ReplyTo, type ResponseBody } from './intake.js';
import type { StatsCounter } from './stats.js';
import type { CollectorStore } from './store.js';
import { meterIdOfTopic } from './verify.js';

export interface IngestOptions {
  url: string;
  protocolVersion: 4 | 5;
  username?: string;
  password?: string;
  /** Connect over this stream instead of `url` (the embedded TLS broker's in-process attachment, tls.ts). */
  connectStream?: () => Duplex;
  store: CollectorStore;
  ledgerKey: KeyObject;
  stats: StatsCounter;
  log: Logger;
  maxPending: number;
  /** Where signed gap records go (gaps.ts); without it a gap is refused as a malformed reading. */
  gaps?: GapStore;
  /** Where signed corrections go (corrections.ts); without it a correction is refused as a malformed reading. */
  corrections?: CorrectionStore;
}

export interface IngestHandle {
  readonly clientId: string;
  /** Resolves when every message received so far has been stored and answered. */
  idle(): Promise<void>;
  /** Stops taking messages, finishes the ones in hand, then disconnects. */
  close(): Promise<void>;
}

/** The largest Delivery the encoding allows is about 17.6 KiB (64 registers with 255 raw bytes each); real ones are ~200 bytes. */
export const MAX_PAYLOAD_BYTES = 24 * 1024;
const MAX_RESPONSE_TOPIC_LENGTH = 512;
const CLOSE_GRACE_MS = 2000;

/**
 * Where to answer a request from `meterId`: an MQTT 5 Response Topic only if it lies in that meter's own
 * topics and holds no wildcard (MQTT-3.3.2-14) — otherwise a meter could have the collector publish into
 * another meter's topics — else the meter's response topic (§9).
 */
export function replyTarget(meterId: string, properties: IPublishPacket['properties']): ReplyTo {
  const requested = properties?.responseTopic;
  const own = `${TOPIC_ROOT}/meter/${meterId}/`;
  if (
    typeof requested === 'string' && requested.startsWith(own) && requested.length > own.length &&
    requested.length <= MAX_RESPONSE_TOPIC_LENGTH && !/[+#\u0000]/.test(requested)
  ) {
    const cd = properties?.correlationData;
    return { topic: requested, correlationData: cd === undefined ? null : new Uint8Array(cd) };
  }
  return { topic: responseTopic(meterId), correlationData: null };
}

export async function startIngest(o: IngestOptions): Promise<IngestHandle> {
  const clientId = `meterseal-collector-${process.pid}-${randomBytes(4).toString('hex')}`;
  const log = o.log.child({ component: 'ingest' });
  const options: IClientOptions = {
    protocolVersion: o.protocolVersion,
    clientId,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.password === undefined ? {} : { password: o.password }),
  };
  let client: MqttClient;
  try {
    if (o.connectStream) {
      const builder = o.connectStream;
      client = new MqttClient(() => builder(), options);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => { client.off('error', reject); resolve(); });
        client.once('error', reject);
      }).catch(async (err: unknown) => { await client.endAsync(true); throw err; });
    } else {
      client = await mqtt.connectAsync(o.url, options, false);
    }
  } catch (cause) {
    throw new CollectorError('BROKER_FAILED', `cannot connect to the interface 2 broker at ${o.url}: ${describe(cause)}`, { cause });
  }

  const respond = (reply: ReplyTo, body: ResponseBody): void => {
    const properties = reply.correlationData !== null && o.protocolVersion === 5 ? { correlationData: Buffer.from(reply.correlationData) } : undefined;
    client.publish(reply.topic, JSON.stringify(body), { qos: 1, ...(properties ? { properties } : {}) }, (err) => {
      if (err) log.warn({ err: describe(err), topic: reply.topic }, 'could not send a response');
    });
  };
  const intake = new Intake({ store: o.store, ledgerKey: o.ledgerKey, stats: o.stats, log, maxPending: o.maxPending, respond });

  const inFlight = new Set<Promise<void>>();
  let closing = false;
  client.on('message', (topic, payload, packet) => {
    if (closing) return; // not answered: the meter sends it again
    const work = handle(topic, new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), packet).catch((err: unknown) =>
      log.error({ err: describe(err), topic: topic.slice(0, 200) }, 'unexpected failure handling a message'),
    );
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  });

  async function handle(topic: string, payload: Uint8Array, packet: IPublishPacket): Promise<void> {
    const isKeys = topic.startsWith(CollectorTopics.keysPrefix);
    let meterId: string;
    try {
      meterId = meterIdOfTopic(topic, isKeys ? CollectorTopics.keysPrefix : CollectorTopics.readingPrefix);
    } catch {
      o.stats.reject('MALFORMED'); // no meter id: no response topic to answer on
      log.warn({ topic: topic.slice(0, 200) }, 'message on a topic without a valid meter id ignored');
      return;
    }
    const reply = replyTarget(meterId, packet.properties);
    if (packet.properties?.responseTopic !== undefined && reply.topic !== packet.properties.responseTopic) {
      log.warn({ meterId }, 'MQTT 5 response topic outside the meter\'s own topics ignored');
    }
    if (payload.length > MAX_PAYLOAD_BYTES) {
      // refused before decoding; the codes and refs are those of the decoders' own refusals
      o.stats.reject('MALFORMED');
      const error = { code: 'MALFORMED' as const, message: `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}` };
      respond(reply, { op: isKeys ? 'keys' : 'delivery', ref: '', ok: false, error });
      return;
    }
    if (isKeys) await intake.keyAnnouncement(meterId, payload, reply);
    else if (o.gaps && isGapDelivery(payload)) await gapDelivery({ store: o.store, gaps: o.gaps, stats: o.stats, log, respond }, meterId, payload, reply); // §12
    else if (o.corrections && isCorrectionDelivery(payload)) await correctionDelivery({ store: o.store, corrections: o.corrections, stats: o.stats, log, respond }, meterId, payload, reply); // §14
    else await intake.delivery(meterId, payload, reply);
  }

  client.on('error', (err) => log.warn({ err: describe(err) }, 'interface 2 client error'));
  client.on('reconnect', () => log.warn({ url: o.url }, 'reconnecting to the interface 2 broker'));

  try {
    const granted = await client.subscribeAsync([CollectorTopics.keysFilter, CollectorTopics.readingFilter], { qos: 1 });
    const refused = granted.filter((g) => g.qos !== 0 && g.qos !== 1);
    if (refused.length > 0) throw new Error(`subscription refused for ${refused.map((g) => g.topic).join(', ')}`);
  } catch (cause) {
    await client.endAsync(true).catch(() => {});
    throw new CollectorError('BROKER_FAILED', `cannot subscribe to the interface 2 topics at ${o.url}`, { cause });
  }
  log.info({ url: o.url, clientId, protocolVersion: o.protocolVersion }, 'collecting interface 2 messages');

  const idle = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.all([...inFlight]);
    await intake.idle();
  };
  let closed: Promise<void> | undefined;
  return {
    clientId,
    idle,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        await idle();
        // let the answers already published get their PUBACK, but never hang on a broker that is gone
        const grace = new Promise<'timeout'>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS, 'timeout').unref());
        const flushed = client.endAsync(false).then(() => 'done' as const);
        if ((await Promise.race([flushed, grace])) === 'timeout') await client.endAsync(true);
      })()),
  };
}
