// A gateway or an agent as its own process, for gateway-kill.test.ts to kill -9 at random. Its meters are
// counting sources in process (the kill is what is under test, not the serial line). Prints one line per
// reading or gap once it is durable in the outbox — "STORED <meterId> <seq> <kind>" — and, with DRAIN=1 or a
// "drain" line on stdin, stops reading and prints "DRAINED <meterId>=<nextSeq>..." once everything queued was
// acknowledged on both paths.
// Usage: node --import tsx gateway-child.ts gateway|agent '<config JSON>'
import pino from 'pino';
import { startAgent } from '@meterseal/device';
import { startGateway } from '@meterseal/edge-gateway';
import { countingSource } from '../../edge-gateway/src/testing.js';

const [mode, json] = process.argv.slice(2);
const config = JSON.parse(json!) as Record<string, unknown>;
const log = pino({ level: process.env.CHILD_LOG ?? 'silent' }, pino.destination(2));
const out = (line: string): void => void process.stdout.write(line + '\n');
let drain = process.env.DRAIN === '1';
// "drain" on stdin: stop reading and report once everything queued is acknowledged (saves a restart)
let onDrain: () => void = () => undefined;
process.stdin.on('data', (d: Buffer) => {
  if (d.toString().includes('drain')) {
    drain = true;
    onDrain();
  }
});

async function waitDrained(drained: () => boolean): Promise<void> {
  while (!drained()) await new Promise((r) => setTimeout(r, 100));
}

if (mode === 'gateway') {
  const meters = config.meters as { meterId: string }[];
  const sources = Object.fromEntries(meters.map((m) => [m.meterId, countingSource()]));
  const gw = await startGateway(config as never, { log, sources, onStored: (m, seq, kind) => out(`STORED ${m} ${seq} ${kind}`) });
  await gw.enrolled;
  out('ENROLLED');
  if (!drain) await new Promise<void>((r) => (onDrain = r));
  await gw.stopPolling();
  await waitDrained(() => gw.drained());
  out(`DRAINED ${Object.entries(gw.stats().meters).map(([id, s]) => `${id}=${s.nextSeq}`).join(' ')}`);
} else {
  const agent = await startAgent(config as never, { log, source: countingSource() });
  await agent.enrolled;
  out('ENROLLED');
  if (drain) {
    await agent.stopReadings();
    await waitDrained(() => agent.drained());
    out(`DRAINED ${agent.meterId}=${agent.stats().outbox.readings + 1}`);
  } else {
    while (!drain) {
      const seq = await agent.readNow();
      out(`STORED ${agent.meterId} ${seq} reading`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await agent.stopReadings();
    await waitDrained(() => agent.drained());
    out(`DRAINED ${agent.meterId}=${agent.stats().outbox.readings + 1}`);
  }
}
