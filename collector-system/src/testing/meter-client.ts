// A real mqtt.js client playing a meter's agent on interface 2 (docs/protocol.md §9): it publishes at QoS 1
// and matches the collector's JSON answers on meterseal/v1/meter/<meterId>/response by op and ref — or,
// over MQTT 5 with its own Response Topic, by the Correlation Data echoed back (MQTT 5.0 §4.10).
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { CollectorTopics, ResponseBody, responseTopic } from '@meterseal/protocol';

export type Answer = ResponseBody;

export interface MeterClientOptions {
  protocolVersion?: 4 | 5;
  /** MQTT 5 only: ask for answers on this topic, with Correlation Data. */
  responseTopic?: string;
}

export class MeterClient {
  readonly meterId: string;
  readonly client: MqttClient;
  /** Every answer received, in order. */
  readonly answers: Answer[] = [];
  /** Where each answer arrived and with which Correlation Data (hex, or null). */
  readonly received: { topic: string; correlation: string | null }[] = [];
  readonly #waiters: { match: (a: Answer, correlation: string | null) => boolean; resolve: (a: Answer) => void }[] = [];
  readonly #options: MeterClientOptions;

  private constructor(meterId: string, client: MqttClient, options: MeterClientOptions) {
    this.meterId = meterId;
    this.client = client;
    this.#options = options;
    client.on('message', (topic, payload, packet) => {
      const answer = ResponseBody.parse(JSON.parse(payload.toString('utf8')));
      const cd = packet.properties?.correlationData;
      const correlation = cd === undefined ? null : Buffer.from(cd).toString('hex');
      this.answers.push(answer);
      this.received.push({ topic, correlation });
      const i = this.#waiters.findIndex((w) => w.match(answer, correlation));
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(answer);
    });
  }

  static async connect(url: string, meterId: string, options: MeterClientOptions = {}): Promise<MeterClient> {
    const client = await mqtt.connectAsync(url, {
      clientId: `test-meter-${meterId}-${Math.random().toString(16).slice(2, 8)}`,
      reconnectPeriod: 0,
      protocolVersion: options.protocolVersion ?? 4,
    });
    const meter = new MeterClient(meterId, client, options);
    await client.subscribeAsync(options.responseTopic ?? responseTopic(meterId), { qos: 1 });
    return meter;
  }

  /** The next answer with this op and ref (including one that already arrived and was not taken). */
  answer(op: string, ref: string, correlation?: string): Promise<Answer> {
    const match = (a: Answer, c: string | null): boolean => a.op === op && a.ref === ref && (correlation === undefined || c === correlation);
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${op} answer for ${ref} within 5 s`)), 5000);
      this.#waiters.push({
        match,
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
      });
    });
  }

  publish(topic: string, payload: Uint8Array, correlation?: string): Promise<unknown> {
    const rt = this.#options.responseTopic;
    const properties = rt !== undefined && correlation !== undefined ? { properties: { responseTopic: rt, correlationData: Buffer.from(correlation, 'hex') } } : {};
    return this.client.publishAsync(topic, Buffer.from(payload), { qos: 1, ...properties });
  }

  /** Publishes and waits for the answer with this op and ref (and, over MQTT 5, fresh Correlation Data). */
  async request(op: 'keys' | 'delivery', ref: string, topic: string, payload: Uint8Array): Promise<Answer> {
    const correlation = this.#options.responseTopic !== undefined ? randomBytes(8).toString('hex') : undefined;
    const answer = this.answer(op, ref, correlation);
    await this.publish(topic, payload, correlation);
    return answer;
  }

  announce(announcement: Uint8Array, keyIdHex: string): Promise<Answer> {
    return this.request('keys', keyIdHex, CollectorTopics.keys(this.meterId), announcement);
  }

  deliver(seq: bigint, payload: Uint8Array): Promise<Answer> {
    return this.request('delivery', seq.toString(10), CollectorTopics.reading(this.meterId), payload);
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}
