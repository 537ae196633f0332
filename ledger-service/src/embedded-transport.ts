// The ledger's own side of its embedded broker, in process: it subscribes to the request topics and
// publishes answers through aedes' server-side subscribe/publish, without a socket, a TCP round trip or
// MQTT encoding in between (against an external broker the ledger is an mqtt.js client, mqtt-transport.ts).
// Server-side subscribe and publish bypass aedes' authorize hooks, which is what the ledger's own client
// was allowed to do anyway (broker.ts); every other client is still held to those hooks.
// QoS 1 towards meters is aedes' (each answer is queued for the meter's QoS 1 subscription and resent until
// acknowledged); a request is taken — and its publisher's PUBACK sent — when it reaches the ledger, as the
// ledger's mqtt.js client did. While the ledger's queue is long (`room`), the request is held: aedes reads
// no more from that publisher's socket until it is taken, so a flood slows its sender, not the ledger.
import type { Aedes, AedesPublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { describe } from './errors.js';
import type { LedgerTransport } from './mqtt-transport.js';
import { REQUEST_TOPICS, type InboundMessage } from './rpc.js';

const CLOSE_GRACE_MS = 2000;

export interface AttachOptions {
  log: Logger;
  /** The remote address of a connected client, by client id (broker.ts), for per-source limits. */
  addressOf?(clientId: string): string | undefined;
  onMessage(msg: InboundMessage): Promise<void>;
  /** Backpressure: a promise to wait for before taking the next request, or undefined to go on. */
  room?(): Promise<void> | undefined;
}

export async function attachToBroker(broker: Aedes, o: AttachOptions): Promise<LedgerTransport> {
  const inflight = new Set<Promise<void>>();
  const deliver = (packet: AedesPublishPacket, done: () => void): void => {
    const b = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    // broker.ts sets clientId on each request (aedes-packet keeps it through delivery): who sent it
    const clientId = (packet as { clientId?: unknown }).clientId;
    const address = typeof clientId === 'string' ? o.addressOf?.(clientId) : undefined;
    const source = typeof clientId === 'string' ? { clientId, ...(address !== undefined ? { address } : {}) } : undefined;
    const p = o.onMessage({ topic: packet.topic, payload: new Uint8Array(b.buffer, b.byteOffset, b.byteLength), ...(source ? { source } : {}) })
      .catch((err) => o.log.error({ err: describe(err) }, 'request dispatch failed'));
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    const wait = o.room?.();
    if (wait) void wait.then(done);
    else done();
  };
  for (const topic of REQUEST_TOPICS) await new Promise<void>((r) => broker.subscribe(topic, deliver, r));

  return {
    publish(m) {
      return new Promise<void>((resolve, reject) => {
        broker.publish({ cmd: 'publish', topic: m.topic, payload: Buffer.from(m.payload, 'utf8'), qos: 1, dup: false, retain: false }, (err) => (err ? reject(err) : resolve()));
      });
    },
    async close() {
      for (const topic of REQUEST_TOPICS) await new Promise<void>((r) => broker.unsubscribe(topic, deliver, r));
      // Let answers already decided go out, but never hang on them.
      const grace = new Promise<void>((r) => setTimeout(r, CLOSE_GRACE_MS).unref());
      await Promise.race([Promise.allSettled([...inflight]), grace]);
    },
  };
}
