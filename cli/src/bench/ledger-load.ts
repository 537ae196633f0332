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
  /** Per anchor: when it was published (performance.now() ms) and the leaf index the ledger answered with. */
  sent: Float64Array;
  leafIndex: Float64Array;
}

interface AnchorAnswer {
  op?: string;
  ref?: string;
  ok?: boolean;
  leafIndex?: string;
  duplicate?: boolean;
  error?: { code: string; message: string };
}

export async function publishAll(
  loads: MeterLoad[],
  { window = 32, timeoutMs = 120_000, progress }: { window?: number; timeoutMs?: number; progress: (line: string) => void },
): Promise<LoadResult> {
  const total = loads.reduce((s, l) => s + l.anchors.length, 0);
  const latencies = new Float64Array(total);
  const sent = new Float64Array(total);
  const leafIndex = new Float64Array(total);
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
      sent[acked] = t0;
      leafIndex[acked] = Number(body.leafIndex ?? NaN);
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
  return { anchors: total, ms: endAt - start, latenciesMs: latencies, sent, leafIndex };
}

/**
 * Watches the ledger's signed checkpoints (C2SP tlog-tiles `GET /checkpoint`, polled every `everyMs`) and records
 * when each size was first seen, so that an anchor's time to inclusion in a signed checkpoint can be measured:
 * the first checkpoint whose size exceeds its leaf index. Resolution: the polling interval.
 */
export class CheckpointWatch {
  readonly #url: string;
  readonly #seen: { at: number; size: number }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  // 50 ms: a resolution of 1/40 of the 2 s target; every 20 ms the polling (an HTTP request on each side, in this
  // process) cost ~14 µs of CPU per anchor at ~3,600 anchors/s, ~4% of the ingest it measures
  constructor(httpUrl: string, everyMs = 50) {
    this.#url = `${httpUrl}/checkpoint`;
    this.#timer = setInterval(() => void this.#poll(), everyMs);
  }

  async #poll(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const text = await (await fetch(this.#url)).text();
      const size = Number(text.split('\n')[1]); // c2sp.org/tlog-checkpoint: origin, size, root hash
      const last = this.#seen.at(-1);
      if (Number.isFinite(size) && (!last || size > last.size)) this.#seen.push({ at: performance.now(), size });
    } catch {
      // the ledger is closing; the next poll or stop() ends it
    } finally {
      this.#busy = false;
    }
  }

  /** Waits (up to timeoutMs) until a checkpoint covers `size` entries, then stops polling. */
  async stopWhenCovers(size: number, timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while ((this.#seen.at(-1)?.size ?? 0) < size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    clearInterval(this.#timer);
  }

  /** Milliseconds from each anchor's publish to the first signed checkpoint covering its leaf (NaN if none). */
  latencies(sent: Float64Array, leafIndex: Float64Array): Float64Array {
    const out = new Float64Array(sent.length);
    for (let i = 0; i < sent.length; i++) {
      const cp = this.#seen.find((c) => c.size > leafIndex[i]!);
      out[i] = cp ? Math.max(0, cp.at - sent[i]!) : Number.NaN;
    }
    return out;
  }
}
