// One meter served by the gateway: its own identity key (made and kept by the gateway, file mode 0600), its
// own session keys, its own rows in the gateway's shared outbox (shared-outbox.ts: group commits across meters)
// and two independent uplinks — the device package's code (enrol, Uplink, RpcClient), so a gateway-served meter
// speaks exactly what an agent speaks. What it signs says so: every Delivery names the gateway
// (docs/protocol.md §12.2) and every gap record has signer = the gateway.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import {
  encodeAnchor, encodeDelivery, encodeReading, encodeSigned, readingHash, signGap, signRecord, toHex,
  type GapReasonCode,
} from '@meterseal/protocol';
import { RpcClient, Uplink, buildReading, enrol, loadOrCreateKey, type Sample, type Session } from '@meterseal/device';
import { GatewayError } from './errors.js';
import type { MeterOutbox } from './shared-outbox.js';

export interface MeterSessionOptions {
  gatewayId: string;
  meterId: string;
  customerAccount: string;
  /** This meter's own directory under the gateway's data directory (its identity key). */
  dir: string;
  /** This meter's view of the gateway's shared outbox. */
  outbox: MeterOutbox;
  ledgerUrl: string;
  collectorUrl: string;
  requestTimeoutMs: number;
  maxInFlight: number;
  firmwareHash: Uint8Array;
  log: Logger;
}

export class MeterSession {
  readonly outbox: MeterOutbox;
  readonly ledgerUplink: Uplink;
  readonly collectorUplink: Uplink;
  readonly enrolled: Promise<void>;
  readonly identityPublicKey: Uint8Array;
  private readonly ledgerRpc: RpcClient;
  private readonly collectorRpc: RpcClient;
  private session: Session | null = null;
  private closed = false;
  private readonly reconnectWatch: NodeJS.Timeout;

  constructor(private readonly o: MeterSessionOptions) {
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    const { key: identity } = loadOrCreateKey(join(o.dir, 'identity.key'));
    this.identityPublicKey = identity.publicKey;
    this.outbox = o.outbox;
    this.ledgerRpc = new RpcClient('ledger', o.ledgerUrl, o.meterId, o.log, o.requestTimeoutMs);
    this.collectorRpc = new RpcClient('collector', o.collectorUrl, o.meterId, o.log, o.requestTimeoutMs);
    this.ledgerUplink = new Uplink('ledger', this.ledgerRpc, this.outbox, o.meterId, o.maxInFlight, o.log);
    this.collectorUplink = new Uplink('collector', this.collectorRpc, this.outbox, o.meterId, o.maxInFlight, o.log);
    this.ledgerUplink.start();
    this.collectorUplink.start();
    this.enrolled = this.enrolLoop(identity);
    // a path that comes back is used at once, not after the uplink's current backoff sleep
    let was = { ledger: false, collector: false };
    this.reconnectWatch = setInterval(() => {
      const now = { ledger: this.ledgerRpc.connected, collector: this.collectorRpc.connected };
      if (now.ledger && !was.ledger) this.ledgerUplink.kick();
      if (now.collector && !was.collector) this.collectorUplink.kick();
      was = now;
    }, 250);
    this.reconnectWatch.unref();
  }

  get meterId(): string {
    return this.o.meterId;
  }

  get isEnrolled(): boolean {
    return this.session !== null;
  }

  /** The same registration, authentication and binding as the agent; retried with jittered backoff. */
  private async enrolLoop(identity: ReturnType<typeof loadOrCreateKey>['key']): Promise<void> {
    for (let attempt = 1, delay = 500; !this.closed; attempt++, delay = Math.min(delay * 2, 30_000)) {
      try {
        if (!this.ledgerRpc.connected) await this.ledgerRpc.waitConnected(5000);
        const s = await enrol(this.ledgerRpc, {
          meterId: this.o.meterId, customerAccount: this.o.customerAccount, identity, firmwareHash: this.o.firmwareHash,
          firstSeq: this.outbox.nextSeq(), log: this.o.log,
        });
        if (this.closed) return;
        this.outbox.addAnnouncement(toHex(s.keyId), s.announcement);
        this.session = s;
        this.collectorUplink.kick();
        return;
      } catch (err) {
        if (this.closed) return;
        this.o.log.warn({ attempt, err: (err as Error).message }, 'enrolment failed; retrying');
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
      }
    }
  }

  private requireSession(): Session {
    if (!this.session) throw new GatewayError('NOT_ENROLLED', `meter ${this.o.meterId} is not enrolled yet`);
    return this.session;
  }

  /** Signs and stores one reading; resolves with its seq once its group commit is on disk (synchronous=FULL). */
  async takeReading(samples: Sample[], retried: boolean): Promise<bigint> {
    const s = this.requireSession();
    const seq = await this.outbox.enqueue((n) => {
      const reading = buildReading(this.o.meterId, n, samples, { retried, meterTimeMs: null });
      const bytes = encodeReading(reading);
      const anchor = encodeAnchor({ meterId: this.o.meterId, seq: n, keyId: s.keyId, readingHash: readingHash(bytes) });
      const signature = signRecord(anchor, s.key.secretKey);
      // §12.2: signed by gateway G on behalf of meter M
      return { anchor: encodeSigned(anchor, signature), delivery: encodeDelivery({ keyId: s.keyId, reading: bytes, signature, signer: this.o.gatewayId }) };
    });
    this.kick();
    return seq;
  }

  /** Signs and stores a gap taking `span` seqs (protocol gap.ts); resolves with its first seq once durable. */
  async recordGap(reason: GapReasonCode, fromMs: bigint, toMs: bigint, span = 1n): Promise<bigint> {
    const s = this.requireSession();
    const first = await this.outbox.enqueue((n) => {
      const gap = signGap(
        { meterId: this.o.meterId, firstSeq: n, lastSeq: n + span - 1n, fromMs, toMs, reason, signer: this.o.gatewayId },
        { keyId: s.keyId, secretKey: s.key.secretKey },
      );
      return { anchor: gap, delivery: gap };
    }, span);
    this.kick();
    return first;
  }

  kick(): void {
    this.ledgerUplink.kick();
    this.collectorUplink.kick();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reconnectWatch);
    await Promise.all([this.ledgerUplink.stop(), this.collectorUplink.stop()]);
    await Promise.all([this.ledgerRpc.close(), this.collectorRpc.close()]); // the shared outbox is the gateway's to close
  }
}
