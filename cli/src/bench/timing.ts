// Throughput measurement on the calling thread: warm up, then call the operation over prepared inputs
// (cycling through them) until a minimum time has passed. Rivals are measured in many short alternating
// rounds (A B A B …) and each keeps its median round, so a busy moment of a shared machine weighs on both
// sides of a ratio instead of on one.
import { performance } from 'node:perf_hooks';

export interface Rate {
  opsPerSec: number;
  ops: number;
  /** How many calls returned a truthy value (a verifier's acceptances). */
  truthy: number;
  ms: number;
}

/** The clock is read every CHECK_EVERY calls; every operation measured here takes microseconds or more. */
const CHECK_EVERY = 8;

/** Calls `op(items[i])` for i = 0, 1, … (wrapping around) for at least `minMs`; returns ops per second. */
export function measureRate<T>(items: readonly T[], op: (item: T, i: number) => unknown, minMs: number): Rate {
  if (items.length === 0) throw new Error('measureRate: no inputs');
  let ops = 0;
  let truthy = 0;
  let i = 0;
  const start = performance.now();
  let ms = 0;
  do {
    for (let k = 0; k < CHECK_EVERY; k++) {
      if (op(items[i]!, i)) truthy++;
      if (++i === items.length) i = 0;
    }
    ops += CHECK_EVERY;
    ms = performance.now() - start;
  } while (ms < minMs);
  return { opsPerSec: (ops * 1000) / ms, ops, truthy, ms };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface Contender<T> {
  items: readonly T[];
  op: (item: T, i: number) => unknown;
  /** Throw unless every call returned a truthy value (a verifier timed on refusals measures nothing). */
  mustAccept?: boolean;
}

/**
 * Measures contenders in `rounds` alternating rounds of at least `roundMs` each, after a warm-up over (at
 * most 200 of) each one's inputs. Returns each contender's median ops/s, in the given order.
 */
export function measureRates(contenders: Contender<any>[], { rounds = 7, roundMs = 250 } = {}): number[] {
  for (const c of contenders) for (const [i, item] of c.items.slice(0, 200).entries()) c.op(item, i);
  const perRound: number[][] = contenders.map(() => []);
  for (let r = 0; r < rounds; r++) {
    contenders.forEach((c, i) => {
      const rate = measureRate(c.items, c.op, roundMs);
      if (c.mustAccept && rate.truthy !== rate.ops) throw new Error(`contender ${i}: ${rate.ops - rate.truthy} of ${rate.ops} calls refused`);
      perRound[i]!.push(rate.opsPerSec);
    });
  }
  return perRound.map(median);
}
