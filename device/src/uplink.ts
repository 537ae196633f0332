// One outbound interface: drains the outbox in sequence order, keeps up to maxInFlight requests open,
// marks each reading acknowledged only on the server's answer, and backs off while the path is down.
// The two uplinks share nothing but the outbox, so one path down never stalls the other.
// On the ledger interface with a PromiseTracker, an anchor counts as acknowledged only with a valid inclusion
// promise (docs/protocol.md §10.4), kept until its receipt is checked after the deadline (promises.ts).
import { AnchorAck, CollectorTopics, LedgerTopics, gapTopic, isGapDelivery, type RpcOp } from '@meterseal/protocol';
import type { Logger } from 'pino';
import type { Interface, OutboxQueue } from './outbox.js';
import type { PromiseTracker } from './promises.js';
import type { RpcClient } from './rpc.js';

export interface UplinkStats {
  sent: number;
  acked: number;
  rejected: Record<string, number>;
  errors: number;
}

export class Uplink {
  private running = false;
  private wake: (() => void) | null = null;
  private backoffMs = 0;
  readonly stats: UplinkStats = { sent: 0, acked: 0, rejected: {}, errors: 0 };
  private loopDone: Promise<void> = Promise.resolve();

  constructor(
    readonly iface: Interface,
    private readonly rpc: RpcClient,
    private readonly outbox: OutboxQueue,
    private readonly meterId: string,
    private readonly maxInFlight: number,
    private readonly log: Logger,
    private readonly promises?: PromiseTracker,
  ) {}

  start(): void {
    this.running = true;
    this.loopDone = this.loop();
  }

  /** New work is queued. */
  kick(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loopDone;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(t);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      if (!this.rpc.connected) {
        await this.sleep(250);
        continue;
      }
      if (this.promises && !this.promises.ready) {
        await this.sleep(250); // the ledger key that signs promises is learned at enrolment
        continue;
      }
      let progressed = false;
      let failed = false;
      try {
        if (this.promises) await this.promises.checkDue(this.rpc);
        if (this.iface === 'collector') {
          for (const a of this.outbox.pendingAnnouncements()) {
            const body = await this.rpc.request('keys', a.keyIdHex, CollectorTopics.keys(this.meterId), a.payload);
            if (body.ok) this.outbox.ackAnnouncement(a.keyIdHex);
            else this.reject(body.error.code, body.error.message, a.keyIdHex);
          }
        }
        const items = this.outbox.pending(this.iface, this.maxInFlight);
        const results = await Promise.allSettled(items.map((it) => this.send(it.seq, it.payload)));
        for (const r of results) {
          if (r.status === 'fulfilled' && r.value) progressed = true;
          if (r.status === 'rejected') failed = true;
        }
        if (items.length === 0) {
          await this.sleep(1000);
          continue;
        }
      } catch (err) {
        failed = true;
        this.log.warn({ iface: this.iface, err: (err as Error).message }, 'uplink error');
      }
      if (failed && !progressed) {
        this.stats.errors++;
        this.backoffMs = Math.min(30_000, Math.max(250, this.backoffMs * 2));
        await this.sleep(this.backoffMs * (0.5 + Math.random() / 2)); // jittered backoff
      } else {
        this.backoffMs = 0;
      }
    }
  }

  private async send(seq: bigint, payload: Uint8Array): Promise<boolean> {
    const op: RpcOp = this.iface === 'ledger' ? 'anchor' : 'delivery';
    const topic = this.iface === 'collector' ? CollectorTopics.reading(this.meterId)
      : isGapDelivery(payload) ? gapTopic(this.meterId) : LedgerTopics.anchor(this.meterId); // gaps: protocol.md §12
    this.stats.sent++;
    const body = await this.rpc.request(op, seq.toString(), topic, payload);
    if (!body.ok) {
      this.reject(body.error.code, body.error.message, seq.toString());
      return false;
    }
    const leaf = this.iface === 'ledger' ? AnchorAck.parse(body).leafIndex : undefined;
    if (this.promises && !isGapDelivery(payload)) { // gap records (§12) are answered without a promise
      try {
        this.promises.accept(seq, payload, (body as Record<string, unknown>).promise, leaf);
      } catch (err) {
        this.reject((err as { code?: string }).code ?? 'BAD_PROMISE', (err as Error).message, seq.toString());
        return false;
      }
    }
    this.outbox.ack(this.iface, seq, leaf);
    this.stats.acked++;
    return true;
  }

  private reject(code: string, message: string, ref: string): void {
    this.stats.rejected[code] = (this.stats.rejected[code] ?? 0) + 1;
    this.log.error({ iface: this.iface, ref, code, message }, 'the server refused an item; it stays queued');
  }
}

