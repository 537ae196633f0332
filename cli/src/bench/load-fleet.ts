// The meters of the `load` benchmark: thousands of simulated meters multiplexed over a few MQTT connections
// ("shards"), each meter with its own response topic (docs/protocol.md §9: answers go to
// meterseal/v1/meter/<id>/response and are matched by op and ref). Onboarding goes through the device's own
// enrol() (register, authenticate, bind — the agent's code path); readings are signed before anything is timed.
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { enrol, type RpcClient, type Session } from '@meterseal/device';
import {
  CollectorTopics, LedgerTopics, encodeAnchor, encodeDelivery, encodeReading, encodeSigned, generateKeyPair, readingHash, responseTopic,
  signingMessage, toHex, type RpcOp,
} from '@meterseal/protocol';
import { benchReadings } from './readings.js';
import { nativeSecretKey, signNative } from './sign-native.js';

export interface Answer {
  op: string;
  ref: string;
  ok: boolean;
  duplicate?: boolean;
  error?: { code: string; message: string };
}

const PREFIX = 'meterseal/v1/meter/';
const SUFFIX = '/response';

/** One MQTT connection carrying the requests and answers of many meters. */
export class Shard {
  readonly #waiters = new Map<string, { resolve: (a: Answer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      if (!topic.startsWith(PREFIX) || !topic.endsWith(SUFFIX)) return;
      const meterId = topic.slice(PREFIX.length, -SUFFIX.length);
      let a: Answer;
      try {
        a = JSON.parse(payload.toString('utf8')) as Answer;
      } catch {
        return;
      }
      const key = `${meterId}|${a.op}|${a.ref}`;
      const w = this.#waiters.get(key);
      if (!w) return;
      this.#waiters.delete(key);
      clearTimeout(w.timer);
      w.resolve(a);
    });
  }

  static async connect(url: string, meterIds: readonly string[]): Promise<Shard> {
    const client = await mqtt.connectAsync(url, {
      clientId: `meterseal-bench-load-${randomBytes(6).toString('hex')}`, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 30_000, clean: true,
    });
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    const shard = new Shard(client);
    for (let i = 0; i < meterIds.length; i += 200) await client.subscribeAsync(meterIds.slice(i, i + 200).map(responseTopic), { qos: 1 });
    return shard;
  }

  /** Publishes at QoS 1 and resolves with the answer for (meter, op, ref). */
  request(meterId: string, op: RpcOp, ref: string, topic: string, payload: Uint8Array, timeoutMs: number): Promise<Answer> {
    const key = `${meterId}|${op}|${ref}`;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(key);
        reject(new Error(`no answer to ${op} ${ref} of ${meterId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.set(key, { resolve, reject, timer });
      this.client.publish(topic, Buffer.from(payload), { qos: 1 }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.#waiters.delete(key);
        reject(new Error(`publish to ${topic} failed: ${err.message}`));
      });
    });
  }

  async close(): Promise<void> {
    for (const w of this.#waiters.values()) clearTimeout(w.timer);
    this.#waiters.clear();
    await this.client.endAsync(true);
  }
}

export interface FleetMeter {
  meterId: string;
  customerAccount: string;
  shard: number;
}

/** Meter ids and accounts, spread over `shards` connections. */
export function fleetIds(meters: number, shards: number): FleetMeter[] {
  return Array.from({ length: meters }, (_, i) => ({ meterId: `load-${String(i + 1).padStart(5, '0')}`, customerAccount: `load-account-${i + 1}`, shard: i % shards }));
}

export async function connectShards(url: string, fleet: readonly FleetMeter[], shards: number): Promise<Shard[]> {
  return Promise.all(Array.from({ length: shards }, (_, s) => Shard.connect(url, fleet.filter((m) => m.shard === s).map((m) => m.meterId))));
}

/** Runs `work` over `items` with at most `limit` at a time; the first failure is thrown. */
export async function pool<T, R>(items: readonly T[], limit: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

const silent = pino({ level: 'silent' });

/** Registers, authenticates and binds every meter (session keys from seq 1) with the device's enrol(). */
export async function onboard(shards: Shard[], fleet: readonly FleetMeter[], progress: (l: string) => void, timeoutMs = 60_000): Promise<Session[]> {
  let done = 0;
  return pool(fleet, 64, async (m) => {
    const shard = shards[m.shard]!;
    const rpc = { request: (op: RpcOp, ref: string, topic: string, payload: Uint8Array) => shard.request(m.meterId, op, ref, topic, payload, timeoutMs) };
    const session = await enrol(rpc as unknown as RpcClient, {
      meterId: m.meterId, customerAccount: m.customerAccount, identity: generateKeyPair(), firmwareHash: new Uint8Array(32).fill(0xf1), firstSeq: 1n, log: silent,
    });
    if (++done % 1000 === 0) progress(`load: ${done}/${fleet.length} meters onboarded`);
    return session;
  });
}

/** Announces each meter's session key to the collector (interface 2) before its readings. */
export async function announce(shards: Shard[], fleet: readonly FleetMeter[], sessions: readonly Session[], timeoutMs = 60_000): Promise<void> {
  await pool(fleet, 256, async (m, i) => {
    const s = sessions[i]!;
    const a = await shards[m.shard]!.request(m.meterId, 'keys', toHex(s.keyId), CollectorTopics.keys(m.meterId), s.announcement, timeoutMs);
    if (!a.ok) throw new Error(`the collector refused the key announcement of ${m.meterId}: ${a.error?.code} ${a.error?.message}`);
  });
}

export interface SignedReading {
  meter: number;
  seq: bigint;
  anchor: Uint8Array;
  delivery: Uint8Array;
}

/** `perMeter` readings per meter from `firstSeq` on, signed as the agent signs them (reading-builder.ts), natively. */
export function signReadings(fleet: readonly FleetMeter[], sessions: readonly Session[], perMeter: number, firstSeq: bigint): SignedReading[] {
  const out: SignedReading[] = [];
  for (const [i, m] of fleet.entries()) {
    const s = sessions[i]!;
    const secret = nativeSecretKey(s.key.secretKey);
    for (const r of benchReadings(m.meterId, perMeter, firstSeq)) {
      const bytes = encodeReading(r);
      const record = encodeAnchor({ meterId: m.meterId, seq: r.seq, keyId: s.keyId, readingHash: readingHash(bytes) });
      const signature = signNative(signingMessage(record), secret);
      out.push({ meter: i, seq: r.seq, anchor: encodeSigned(record, signature), delivery: encodeDelivery({ keyId: s.keyId, reading: bytes, signature }) });
    }
  }
  return out;
}

/**
 * Sends every reading — its anchor to the ledger, and with `deliveries` also the full reading to the collector —
 * with at most `inFlight` readings unanswered at once, and resolves with the milliseconds until the last answer.
 * Any refusal or duplicate answer fails the run: each reading must be appended (and stored) exactly once.
 */
export async function sendAll(shards: Shard[], fleet: readonly FleetMeter[], readings: readonly SignedReading[], o: { inFlight: number; deliveries: boolean; timeoutMs: number; progress: (l: string) => void }): Promise<number> {
  let done = 0;
  const ticker = setInterval(() => o.progress(`load: ${done}/${readings.length} readings answered`), 2000);
  const start = performance.now();
  try {
    await pool(readings, o.inFlight, async (r) => {
      const m = fleet[r.meter]!;
      const shard = shards[m.shard]!;
      const ref = r.seq.toString();
      const asks = [shard.request(m.meterId, 'anchor', ref, LedgerTopics.anchor(m.meterId), r.anchor, o.timeoutMs)];
      if (o.deliveries) asks.push(shard.request(m.meterId, 'delivery', ref, CollectorTopics.reading(m.meterId), r.delivery, o.timeoutMs));
      for (const a of await Promise.all(asks)) {
        if (!a.ok || a.duplicate) throw new Error(`${a.op} ${m.meterId} seq ${ref}: ${a.ok ? 'answered as a duplicate' : `${a.error?.code} ${a.error?.message}`}`);
      }
      done++;
    });
    return performance.now() - start;
  } finally {
    clearInterval(ticker);
  }
}
