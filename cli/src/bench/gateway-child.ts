// A child process of the gateway benchmark, so that its peak RSS and CPU time are its own. Each mode imports
// only what it runs (dynamic imports: in the bench's code-split bundle each is its own chunk), as a deployed
// process would load it:
//   forwarder '<json ForwarderOptions minus log>'  — prints "URL <url>", then on "stats" prints "STATS <json>"
//   baseline agent|forwarder                        — loads that mode's code, idles, prints "STATS <json>" (RSS reference)
//   agent '<json AgentConfig>' <readings>           — takes that many readings as fast as it can, waits until both
//                                                     interfaces acknowledged them, prints "STATS <json>"
// STATS carries peak RSS, CPU time and where the memory is at the end (process.memoryUsage, V8 heap spaces).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { getHeapSpaceStatistics } from 'node:v8';
import type { MeterSource } from '@meterseal/device';

const [mode, json, count] = process.argv.slice(2);
const MB = 1024 * 1024;
/**
 * Peak RSS of this process: VmHWM of /proc/self/status. Not resourceUsage().maxRSS: on Linux ru_maxrss survives
 * execve, so a child forked from a large parent reports the parent's RSS at fork time (measured: a 243 MB bench
 * parent gave an idle `node -e` child maxRSS 204 MB against VmHWM 39 MB). Elsewhere maxRSS is all there is.
 */
function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s*(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS * 1024;
}
const usage = (): { maxRssBytes: number; cpuUs: number } => {
  const u = process.resourceUsage();
  return { maxRssBytes: peakRssBytes(), cpuUs: u.userCPUTime + u.systemCPUTime };
};
/** Where the memory is, in MB: RSS, the V8 heap (per space), C++ objects bound to JS (external). */
const where = (): Record<string, number> => {
  const m = process.memoryUsage();
  const r = (x: number): number => Math.round((x / MB) * 10) / 10;
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, r(s.space_size)]));
  return { rss: r(m.rss), heapTotal: r(m.heapTotal), heapUsed: r(m.heapUsed), external: r(m.external), arrayBuffers: r(m.arrayBuffers), ...spaces };
};
const silent = async () => (await import('pino')).default({ level: 'silent' });

if (mode === 'baseline') {
  // the RSS reference: the same code the mode loads, doing nothing
  if (json === 'forwarder') await import('@meterseal/edge-gateway');
  else await import('@meterseal/device');
  await silent();
  await new Promise((r) => setTimeout(r, 200));
  process.stdout.write(`STATS ${JSON.stringify({ ...usage(), mem: where() })}\n`);
  process.exit(0);
} else if (mode === 'forwarder') {
  const { startForwarder } = await import('@meterseal/edge-gateway');
  const f = await startForwarder({ ...(JSON.parse(json!) as { host: string; port: number; ledgerUrl: string; collectorUrl: string; maxQueued: number }), log: await silent() });
  process.stdout.write(`URL ${f.url}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stats') process.stdout.write(`STATS ${JSON.stringify({ ...usage(), ...f.stats(), mem: where() })}\n`);
    if (line === 'quit') break;
  }
  await f.close();
  process.exit(0);
} else if (mode === 'agent') {
  const { startAgent } = await import('@meterseal/device');
  let n = 0;
  const source: MeterSource = {
    async open() {},
    async close() {},
    async read() {
      n++;
      return [
        { obis: '1.0.1.8.0.255', value: BigInt(1000 + n), scaler: 0, unit: 'Wh', raw: new Uint8Array([0, 0, 3, n & 0xff]) },
        { obis: '1.0.32.7.0.255', value: 2301n, scaler: -1, unit: 'V', raw: new Uint8Array([0x43, 0x66, 0x1a, 0x00]) },
      ];
    },
  };
  const agent = await startAgent(JSON.parse(json!) as never, { log: await silent(), source });
  await agent.enrolled;
  const readings = Number(count);
  const before = usage();
  const t0 = performance.now();
  for (let i = 0; i < readings; i++) await agent.readNow();
  while (!agent.drained()) await new Promise((r) => setTimeout(r, 20));
  const after = usage();
  process.stdout.write(`STATS ${JSON.stringify({ readings, maxRssBytes: after.maxRssBytes, cpuUs: after.cpuUs - before.cpuUs, elapsedMs: performance.now() - t0, mem: where() })}\n`);
  await agent.close();
  process.exit(0);
}
