// `meterseal bench`: the registry of benchmarks and one run over some of them, with the machine described.
import { collectorBench } from './collector.js';
import { ed25519Bench } from './ed25519.js';
import { gatewayBench } from './gateway.js';
import { ledgerBench } from './ledger.js';
import { loadBench } from './load.js';
import { describeMachine, type Machine } from './machine.js';
import { protocolBench } from './protocol.js';
import { reconcileBench } from './reconcile.js';
import { serialBench } from './serial.js';
import type { Benchmark, BenchOptions, Result } from './types.js';

export type { Benchmark, BenchOptions, Figure, Measure, Result } from './types.js';
export type { Machine } from './machine.js';

export const BENCHMARKS: readonly Benchmark[] = [ed25519Bench, protocolBench, ledgerBench, collectorBench, reconcileBench, serialBench, gatewayBench, loadBench];

export interface BenchRun {
  machine: Machine;
  /** ISO-8601 UTC. */
  startedAt: string;
  results: Result[];
}

/** The benchmarks called `names`, in the registry's order (all of them for an empty list); throws on an unknown name. */
export function selectBenchmarks(names: readonly string[]): Benchmark[] {
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) {
    throw new Error(`unknown benchmark ${unknown.map((u) => JSON.stringify(u.slice(0, 40))).join(', ')} (known: ${BENCHMARKS.map((b) => b.name).join(', ')})`);
  }
  return names.length === 0 ? [...BENCHMARKS] : BENCHMARKS.filter((b) => names.includes(b.name));
}

export async function runBenchmarks(benchmarks: readonly Benchmark[], o: BenchOptions): Promise<BenchRun> {
  const run: BenchRun = { machine: describeMachine(), startedAt: new Date().toISOString(), results: [] };
  for (const b of benchmarks) {
    o.progress(`${b.name}: ${b.description}`);
    run.results.push(await b.run(o));
  }
  return run;
}
