// The load side of the `ledger` benchmark: K meters, each a real MQTT client on the ledger's embedded broker
// (ledger-service's FakeMeter, which the ledger's own tests use), publishing pre-signed anchors at QoS 1
// with at most `window` unanswered at a time — the agent's default maxInFlight (device/src/config.ts) —
// and timing each from publish to the ledger's answer (which the ledger sends only after the append has
// committed, synchronous=FULL: verified, appended, durable).
import { performance } from 'node:perf_hooks';
import { LedgerTopics } from '@meterseal/protocol';
import type { FakeMeter } from '@meterseal/ledger-service/testing/fake-meter';

export interface MeterLoad {
  meter: FakeMeter;
  /** Signed anchors (anchor || signature) in seq order, with their seq. */
  anchors: { seq: bigint; signed: Uint8Array }[];
}

export interface LoadResult {
  anchors: number;
  ms: number;
  /** Publish-to-answer times, milliseconds, one per anchor. */
  latenciesMs: Float64Array;
}

interface AnchorAnswer {
  op?: string;
  ref?: string;
  ok?: boolean;
  duplicate?: boolean;
  error?: { code: string; message: string };
}

export async function publishAll(
  loads: MeterLoad[],
  { window = 32, timeoutMs = 120_000, progress }: { window?: number; timeoutMs?: number; progress: (line: string) => void },
): Promise<LoadResult> {
  const total = loads.reduce((s, l) => s + l.anchors.length, 0);
  const latencies = new Float64Array(total);
  let acked = 0;
  let failure: Error | undefined;
  let endAt = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const pumps: Array<() => void> = [];

  const fail = (err: Error): void => {
    failure ??= err;
    finish();
  };

  for (const load of loads) {
    const sentAt = new Map<string, number>();
    let next = 0;
    let inFlight = 0;
    const topic = LedgerTopics.anchor(load.meter.meterId);
    const pump = (): void => {
      while (inFlight < window && next < load.anchors.length) {
        const a = load.anchors[next++]!;
        sentAt.set(a.seq.toString(), performance.now());
        inFlight++;
        load.meter.client.publish(topic, Buffer.from(a.signed), { qos: 1 }, (err) => {
          if (err) fail(new Error(`publish of ${load.meter.meterId} seq ${a.seq} failed: ${err.message}`));
        });
      }
    };
    // Take the answers here instead of through FakeMeter's request/response (one waiter and timer per
    // request): with hundreds in flight, only the time of each answer matters.
    load.meter.client.removeAllListeners('message');
    load.meter.client.on('message', (_topic, payload) => {
      const now = performance.now();
      let body: AnchorAnswer;
      try {
        body = JSON.parse(payload.toString('utf8')) as AnchorAnswer;
      } catch {
        return fail(new Error(`unparseable answer to ${load.meter.meterId}`));
      }
      if (body.op !== 'anchor' || body.ref === undefined) return;
      const t0 = sentAt.get(body.ref);
      if (t0 === undefined) return;
      sentAt.delete(body.ref);
      if (!body.ok || body.duplicate) {
        return fail(new Error(`the ledger did not append ${load.meter.meterId} seq ${body.ref}: ${body.error ? `${body.error.code} ${body.error.message}` : 'duplicate'}`));
      }
      latencies[acked++] = now - t0;
      inFlight--;
      if (acked === total) {
        endAt = now;
        finish();
      } else pump();
    });
    pumps.push(pump);
  }

  const timer = setTimeout(() => fail(new Error(`only ${acked} of ${total} anchors answered within ${timeoutMs} ms`)), timeoutMs);
  const ticker = setInterval(() => progress(`ledger: ${acked}/${total} anchors acknowledged`), 2000);
  const start = performance.now();
  try {
    for (const pump of pumps) pump(); // every meter's window opens in the same tick
    await finished;
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
  }
  if (failure) throw failure;
  return { anchors: total, ms: endAt - start, latenciesMs: latencies };
}
