// A child process of the gateway benchmark, so that its peak RSS and CPU time are its own:
//   forwarder '<json ForwarderOptions minus log>'  — prints "URL <url>", then on "stats" prints "STATS <json>"
//   baseline                                        — loads the same packages, prints "STATS <json>" (RSS reference)
//   agent '<json AgentConfig>' <readings>           — takes that many readings as fast as it can, waits until both
//                                                     interfaces acknowledged them, prints "STATS <json>"
import { createInterface } from 'node:readline';
import pino from 'pino';
import { startForwarder } from '@meterseal/edge-gateway';
import { startAgent, type MeterSource } from '@meterseal/device';

const [mode, json, count] = process.argv.slice(2);
const log = pino({ level: 'silent' });
const usage = (): { maxRssBytes: number; cpuUs: number } => {
  const u = process.resourceUsage();
  return { maxRssBytes: u.maxRSS * 1024, cpuUs: u.userCPUTime + u.systemCPUTime };
};

if (mode === 'baseline') {
  // the reference for RSS: node + tsx with the same packages loaded, doing nothing
  await import('@meterseal/edge-gateway');
  await import('@meterseal/device');
  await new Promise((r) => setTimeout(r, 200));
  process.stdout.write(`STATS ${JSON.stringify(usage())}\n`);
  process.exit(0);
} else if (mode === 'forwarder') {
  const f = await startForwarder({ ...(JSON.parse(json!) as { host: string; port: number; ledgerUrl: string; collectorUrl: string; maxQueued: number }), log });
  process.stdout.write(`URL ${f.url}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stats') process.stdout.write(`STATS ${JSON.stringify({ ...usage(), ...f.stats() })}\n`);
    if (line === 'quit') break;
  }
  await f.close();
  process.exit(0);
} else if (mode === 'agent') {
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
  const agent = await startAgent(JSON.parse(json!) as never, { log, source });
  await agent.enrolled;
  const readings = Number(count);
  const before = usage();
  const t0 = performance.now();
  for (let i = 0; i < readings; i++) await agent.readNow();
  while (!agent.drained()) await new Promise((r) => setTimeout(r, 20));
  const after = usage();
  process.stdout.write(`STATS ${JSON.stringify({ readings, maxRssBytes: after.maxRssBytes, cpuUs: after.cpuUs - before.cpuUs, elapsedMs: performance.now() - t0 })}\n`);
  await agent.close();
  process.exit(0);
}
