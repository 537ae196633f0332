// Where each anchor's time goes on the ledger's event loop: reads the main thread's V8 CPU profile of a
// `bench ledger` run (`node --cpu-prof --cpu-prof-dir=DIR cli/bin/meterseal.js bench ledger --json --n N`),
// keeps the samples of the publish phase (from the first to the last sample whose stack is in ledger-load.ts)
// and counts each sample in the first bucket below that some frame of its stack matches, in µs per anchor
// (docs/performance.md §"Ledger ingest: where each anchor's time goes").
//   node --import tsx cli/src/bench/ledger-profile.ts DIR/CPU.<date>.<time>.<pid>.0.001.cpuprofile N
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Buckets in match order: a sample goes to the first whose pattern matches a frame `functionName@url`. */
export const BUCKETS: ReadonlyArray<readonly [string, RegExp]> = [
  ['idle (waiting: worker, disk, sockets)', /^\(idle\)@/],
  ['garbage collection', /^\(garbage collector\)@/],
  ['promise: sign on the event loop', /signHex@|signOneShot@/],
  ['promise: build records, post to worker', /@ledger-service\/src\/ingest-promises/],
  ['append: hashing, SQLite, commit+fsync', /appendBatch@/],
  ['decide (duplicates, conflicts) + answer fields', /commit@ledger-service\/src\/anchor-ingest/],
  ['prepare (state reads) + post verify to worker', /start@ledger-service\/src\/anchor-ingest|prepareAnchor@|verify-pool/],
  ['decode anchor (parseAnchor)', /parseAnchor@/],
  ['checkpoint signing + counters (1/s)', /tick@ledger-service|checkpointNow@/],
  ['bench: checkpoint polling (client + HTTP server)', /#poll@|CheckpointWatch|ledger-service\/src\/http\.ts|nm\/undici|node:_http|node:http/],
  ['bench: meters (mqtt.js clients, answer parsing)', /ledger-load|nm\/mqtt\/|fake-meter/],
  ['answer: JSON + publish into aedes', /dispatch@ledger-service\/src\/rpc|embedded-transport|publish@nm\/aedes/],
  ['broker: aedes/mqtt-packet (parse, route, QoS 1)', /nm\/aedes|nm\/mqtt-packet|nm\/mqemitter|nm\/qlobber|nm\/bl\//],
  ['sockets (writev, reads)', /^writev@|stream_base_commons|node:net|streams\//],
];

const label = (cf: CallFrame): string =>
  `${cf.functionName}@${cf.url.replace(/^.*node_modules\//, 'nm/').replace(/^file:\/\/.*?\/(?=(ledger-service|cli|protocol)\/)/, '')}`;

/** µs per anchor by bucket (plus `other`), and the publish phase's length in µs. */
export function splitPerAnchor(p: CpuProfile, anchors: number): { windowUs: number; perAnchor: Map<string, number> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stacks = new Map<number, string[]>();
  const stack = (id: number): string[] => {
    let s = stacks.get(id);
    if (!s) {
      s = [];
      for (let k: number | undefined = id; k !== undefined; k = parent.get(k)) s.push(label(byId.get(k)!.callFrame));
      stacks.set(id, s);
    }
    return s;
  };
  const times: number[] = [];
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) times.push((t += p.timeDeltas[i]!));
  let lo = Infinity;
  let hi = -Infinity;
  p.samples.forEach((id, i) => {
    if (stack(id).some((l) => l.includes('ledger-load'))) {
      lo = Math.min(lo, times[i]!);
      hi = Math.max(hi, times[i]!);
    }
  });
  const perAnchor = new Map<string, number>([...BUCKETS.map(([n]) => [n, 0] as [string, number]), ['other', 0]]);
  p.samples.forEach((id, i) => {
    if (times[i]! < lo || times[i]! > hi) return;
    const s = stack(id);
    const name = BUCKETS.find(([, re]) => s.some((l) => re.test(l)))?.[0] ?? 'other';
    perAnchor.set(name, perAnchor.get(name)! + (p.timeDeltas[i + 1] ?? 0) / anchors);
  });
  return { windowUs: hi > lo ? hi - lo : 0, perAnchor };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, n] = process.argv.slice(2);
  if (!file || !n || !(Number(n) > 0)) throw new Error('usage: ledger-profile.ts MAIN-THREAD.cpuprofile ANCHORS');
  const { windowUs, perAnchor } = splitPerAnchor(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(n));
  const total = [...perAnchor.values()].reduce((a, b) => a + b, 0);
  console.log(`publish phase ${(windowUs / 1000).toFixed(0)} ms; event loop ${total.toFixed(0)} µs per anchor`);
  for (const [name, us] of perAnchor) console.log(`| ${name} | ${us.toFixed(1)} | ${((100 * us) / total).toFixed(1)}% |`);
}
