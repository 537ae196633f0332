// What the collector does with each interface 2 message (docs/protocol.md §8, §9), independent of MQTT:
// verify, store, and answer only after the store has committed. Every answer carries `op` and `ref` (§9:
// "delivery" and the decimal seq; "keys" and the key id in hex). Deliveries whose session key is not yet
// known are kept as pending and retried whenever a key announcement for that key arrives.
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { decodeDelivery, type RpcOp } from '@meterseal/protocol';
import { Batcher } from './batcher.js';
import { CollectorError, REJECTION_CODES, describe, type RejectionCode } from './errors.js';
import { SessionKeyCache, type UsableKey } from './session-keys.js';
import type { StatsCounter } from './stats.js';
import type { CollectorStore, InsertOutcome, NewReading, PendingDelivery } from './store.js';
import {
  announcedKeyIdHex, assertDeliverySignature, assertKeyCoversSeq, parseDelivery, verifyKeyAnnouncement, type DecodedDelivery,
} from './verify.js';

/** Where to answer: the meter's response topic, or an MQTT 5 Response Topic with its Correlation Data (MQTT 5.0 §4.10). */
export interface ReplyTo {
  topic: string;
  correlationData: Uint8Array | null;
}

type Op = Extract<RpcOp, 'delivery' | 'keys'>;

export type ResponseBody =
  | { op: Op; ref: string; ok: true; seq?: string; duplicate?: boolean }
  | { op: Op; ref: string; ok: false; error: { code: RejectionCode; message: string } };

export interface IntakeOptions {
  store: CollectorStore;
  ledgerKey: KeyObject;
  stats: StatsCounter;
  log: Logger;
  maxPending: number;
  respond: (reply: ReplyTo, body: ResponseBody) => void;
  now?: () => Date;
}

export class Intake {
  readonly #o: IntakeOptions;
  readonly #keys: SessionKeyCache;
  readonly #batcher: Batcher<NewReading, InsertOutcome>;
  /** One retry of the pending deliveries per (meter, key) at a time. */
  readonly #retries = new Map<string, Promise<void>>();

  constructor(options: IntakeOptions) {
    this.#o = options;
    this.#keys = new SessionKeyCache(options.store);
    this.#batcher = new Batcher((items) => options.store.insertReadings(items));
  }

  #now(): string {
    return (this.#o.now?.() ?? new Date()).toISOString();
  }

  /** Answers a refusal; returns the code (INTERNAL for anything but a refusal of the message itself). */
  #reject(reply: ReplyTo | null, op: Op, ref: string, err: unknown, context: Record<string, unknown>): RejectionCode {
    const known = err instanceof CollectorError && (REJECTION_CODES as readonly string[]).includes(err.code);
    const code = (known ? err.code : 'INTERNAL') as RejectionCode;
    const message = known ? err.message : 'the collector could not process this message; send it again';
    this.#o.stats.reject(code);
    const level = code === 'INTERNAL' ? 'error' : code === 'NO_SESSION_KEY' ? 'info' : 'warn';
    this.#o.log[level]({ ...context, op, ref, code, err: describe(err) }, 'interface 2 message refused');
    if (reply) this.#o.respond(reply, { op, ref, ok: false, error: { code, message } });
    return code;
  }

  /** Key announcement on meterseal/v1/collector/keys/<meterId>. */
  async keyAnnouncement(meterId: string, payload: Uint8Array, reply: ReplyTo | null): Promise<void> {
    let stored: 'stored' | 'duplicate' | 'conflict';
    let keyId: Uint8Array;
    const ref = announcedKeyIdHex(payload);
    try {
      const record = verifyKeyAnnouncement(payload, meterId, this.#o.ledgerKey, this.#now());
      keyId = record.keyId;
      stored = await this.#o.store.putSessionKey(record);
      if (stored === 'conflict') throw new CollectorError('KEY_CONFLICT', 'a different session key was already announced under this key id');
    } catch (err) {
      this.#reject(reply, 'keys', ref, err, { meterId });
      return;
    }
    if (stored === 'stored') {
      this.#keys.invalidate(meterId);
      this.#o.stats.keys++;
      this.#o.log.info({ meterId, keyId: ref }, 'session key accepted');
    }
    if (reply) this.#o.respond(reply, { op: 'keys', ref, ok: true });
    await this.#retryPending(meterId, keyId);
  }

  /** Delivery on meterseal/v1/collector/reading/<meterId>. */
  async delivery(meterId: string, payload: Uint8Array, reply: ReplyTo | null): Promise<void> {
    let delivery: DecodedDelivery;
    let key: UsableKey | null;
    try {
      delivery = parseDelivery(payload, meterId);
      key = await this.#keys.get(meterId, delivery.keyId);
    } catch (err) {
      this.#reject(reply, 'delivery', seqRef(payload), err, { meterId });
      return;
    }
    if (key === null) {
      await this.#keepPending(meterId, delivery, payload, reply);
      return;
    }
    await this.#verifyAndStore(delivery, key, reply);
  }

  /** False only when the store failed: the delivery is then neither stored nor refused for good. */
  async #verifyAndStore(delivery: DecodedDelivery, key: UsableKey, reply: ReplyTo | null): Promise<boolean> {
    const { meterId, seq } = delivery.decoded;
    const ref = seq.toString(10);
    let outcome: InsertOutcome;
    try {
      assertKeyCoversSeq(key.record, seq, key.next);
      assertDeliverySignature(delivery, key.native);
      outcome = await this.#batcher.push({
        reading: delivery.decoded,
        bytes: delivery.reading,
        keyId: delivery.keyId,
        signature: delivery.signature,
        receivedAt: this.#now(),
      });
    } catch (err) {
      return this.#reject(reply, 'delivery', ref, err, { meterId }) !== 'INTERNAL';
    }
    const stats = this.#o.stats;
    if (outcome === 'conflict') {
      stats.conflicts++;
      this.#o.log.warn({ meterId, seq: seq.toString() }, 'conflicting reading recorded; the stored one is kept');
      if (reply) {
        const message = `a different reading for ${meterId} seq ${seq} is already stored; this one was recorded as a conflict`;
        this.#o.respond(reply, { op: 'delivery', ref, ok: false, error: { code: 'CONFLICT', message } });
      }
      return true;
    }
    if (outcome === 'stored') stats.collected++;
    else stats.duplicates++;
    if (reply) this.#o.respond(reply, { op: 'delivery', ref, ok: true, seq: ref, duplicate: outcome === 'duplicate' });
    return true;
  }

  async #keepPending(meterId: string, delivery: DecodedDelivery, payload: Uint8Array, reply: ReplyTo | null): Promise<void> {
    const ref = delivery.decoded.seq.toString(10);
    const context = { meterId };
    try {
      if (this.#o.stats.pending >= this.#o.maxPending) {
        throw new CollectorError('PENDING_FULL', 'no key announcement for this session key, and too many deliveries are waiting for one');
      }
      const added = await this.#o.store.addPending({
        meterId,
        keyId: delivery.keyId,
        payload,
        responseTopic: reply?.topic ?? null,
        correlationData: reply?.correlationData ?? null,
        receivedAt: this.#now(),
      });
      if (added) this.#o.stats.pending++;
    } catch (err) {
      this.#reject(reply, 'delivery', ref, err, context);
      return;
    }
    const message = 'no key announcement for this session key yet; the delivery is kept and will be acknowledged once it arrives';
    this.#reject(reply, 'delivery', ref, new CollectorError('NO_SESSION_KEY', message), context);
    // The announcement may have been stored while this delivery was being filed: retry now rather than never.
    if ((await this.#keys.get(meterId, delivery.keyId)) !== null) await this.#retryPending(meterId, delivery.keyId);
  }

  #retryPending(meterId: string, keyId: Uint8Array): Promise<void> {
    const id = `${meterId}/${Buffer.from(keyId).toString('hex')}`;
    const run = (this.#retries.get(id) ?? Promise.resolve()).then(() => this.#runRetry(meterId, keyId));
    const tracked = run.finally(() => {
      if (this.#retries.get(id) === tracked) this.#retries.delete(id);
    });
    this.#retries.set(id, tracked);
    return tracked;
  }

  async #runRetry(meterId: string, keyId: Uint8Array): Promise<void> {
    try {
      const key = await this.#keys.get(meterId, keyId);
      if (key === null) return;
      const waiting: PendingDelivery[] = await this.#o.store.pendingFor(meterId, keyId);
      if (waiting.length === 0) return;
      this.#o.log.info({ meterId, count: waiting.length }, 'retrying deliveries that waited for their key announcement');
      const settled = await Promise.all(
        waiting.map(async (p) => {
          const reply = p.responseTopic === null ? null : { topic: p.responseTopic, correlationData: p.correlationData };
          let delivery: DecodedDelivery;
          try {
            delivery = parseDelivery(p.payload, meterId);
          } catch (err) {
            this.#reject(reply, 'delivery', seqRef(p.payload), err, { meterId, pending: p.id });
            return true;
          }
          return this.#verifyAndStore(delivery, key, reply);
        }),
      );
      const done = waiting.filter((_, i) => settled[i]).map((p) => p.id);
      this.#o.stats.pending -= await this.#o.store.deletePending(done);
    } catch (err) {
      this.#o.log.error({ meterId, err: describe(err) }, 'retrying pending deliveries failed; they stay pending');
    }
  }

  /** Resolves when every accepted reading has been committed and every retry has run. */
  async idle(): Promise<void> {
    await Promise.all(this.#retries.values());
    await this.#batcher.idle();
  }
}

/** The seq of a delivery that failed to parse, if its reading can still be read; otherwise "". */
function seqRef(payload: Uint8Array): string {
  try {
    return decodeDelivery(payload).decoded.seq.toString(10);
  } catch {
    return '';
  }
}
