// `npm run bench -- gateway`: the edge gateway (issue 7).
//  1. forwarding: N simulated meters (default 1,000 MQTT connections) publish signed-size anchors and deliveries
//     to the gateway's local broker; the forwarder runs in its own process and passes them to two upstream
//     brokers. Reference: the same meters publishing straight to the upstream broker. Peak RSS of that process.
//  2. backlog: polled meters keep reading while the ledger and collector are down — by default 100 meters x 40
//     polls = 4,000 readings, the backlog one hour of 1,000 meters at 15-minute intervals leaves — then the
//     drain rate once both come back; bytes the process wrote to storage per reading (/proc/self/io
//     write_bytes, WAL + checkpoints + fsync included) with the shared outbox's group commit, and the same
//     outbox committing every reading on its own as the reference.
//  3. the agent alone in its own process: peak RSS and CPU time per reading (signing, outbox, both uplinks).
// The children run with the Node flags of the deployed systemd units (hardware/deploy/systemd), read from
// their ExecStart lines, so the RSS measured is the RSS deployed; the agent also runs once without them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { OUTBOX_FILE, OutboxMeter, SharedOutbox, startGateway } from '@meterseal/edge-gateway';
import { encodeAnchor, signRecord, generateKeyPair } from '@meterseal/protocol';
import { countingSource, startBackends } from '../../../edge-gateway/src/testing.js';
import { Closers } from './closers.js';
import { compare, round, type Benchmark, type Figure } from './types.js';

const CHILD = fileURLToPath(new URL('./gateway-child.ts', import.meta.url));
const log = pino({ level: 'silent' });

interface Sink { url: string; count: number; close(): Promise<void>; restart(): Promise<void>; stop(): Promise<void> }

/** An upstream broker that counts what reaches meterseal/v1/ledger/# and meterseal/v1/collector/#. */
async function startSink(): Promise<Sink> {
  const broker = await Aedes.createBroker();
  const sink = { count: 0 } as Sink;
  await new Promise<void>((r) => broker.subscribe('meterseal/v1/+/#', (_p, cb) => { sink.count++; cb(); }, r));
  let server: Server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  sink.url = `mqtt://127.0.0.1:${port}`;
  sink.stop = async () => {
    await new Promise<void>((r) => server.close(() => r()));
    for (const c of Object.values((broker as unknown as { clients: Record<string, { close(): void }> }).clients)) c.close();
  };
  sink.restart = async () => {
    server = createServer(broker.handle);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  };
  sink.close = async () => {
    await sink.stop().catch(() => undefined);
    await new Promise<void>((r) => broker.close(() => r()));
  };
  return sink;
}

/**
 * The children run as an esbuild bundle on plain node, as a deployment without tsx would (tsx compiles every
 * file on load and alone costs ~70 MB of RSS); code-split, so each mode loads only its own chunks; native
 * modules stay external. Falls back to tsx without esbuild.
 */
async function bundleChild(): Promise<string | null> {
  const outdir = fileURLToPath(new URL('../../../node_modules/.cache/meterseal-bench/gateway-child/', import.meta.url));
  try {
    const esbuild = (await import('esbuild')) as unknown as { build(o: Record<string, unknown>): Promise<unknown> };
    rmSync(outdir, { recursive: true, force: true });
    await esbuild.build({
      entryPoints: [CHILD], bundle: true, splitting: true, platform: 'node', format: 'esm', target: 'node20', outdir,
      outExtension: { '.js': '.mjs' }, logLevel: 'error',
      external: ['better-sqlite3', 'serialport', '@serialport/*', 'tsx', 'thread-stream', 'pino-pretty'],
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    return join(outdir, 'gateway-child.mjs');
  } catch {
    return null;
  }
}
let BUNDLE: string | null = null;

/** The node flags between /usr/bin/node and the script on a deployed unit's ExecStart line. */
export function unitNodeFlags(unit: 'agent' | 'gateway'): string[] {
  const text = readFileSync(fileURLToPath(new URL(`../../../hardware/deploy/systemd/meterseal-${unit}.service`, import.meta.url)), 'utf8');
  const exec = /^ExecStart=.*?\/usr\/bin\/node((?: --[a-z0-9-]+(?:=[0-9a-z]+)?)*) \S+meterseal\.js /m.exec(text);
  return exec?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}

function child(args: string[], flags: string[] = []): { proc: ChildProcess; line(prefix: string): Promise<string>; send(s: string): void } {
  const proc = spawn(process.execPath, [...flags, ...(BUNDLE ? [BUNDLE, ...args] : ['--import', 'tsx', CHILD, ...args])], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      for (const w of waiters.splice(0)) w();
    }
  });
  return {
    proc,
    send: (s) => proc.stdin!.write(s + '\n'),
    async line(prefix) {
      for (;;) {
        const i = lines.findIndex((l) => l.startsWith(prefix));
        if (i >= 0) return lines.splice(i, 1)[0]!.slice(prefix.length + 1);
        if (proc.exitCode !== null) throw new Error(`gateway bench child exited before "${prefix}"`);
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 1000); });
      }
    },
  };
}

async function connectMeters(url: string, n: number): Promise<MqttClient[]> {
  const out: MqttClient[] = [];
  for (let i = 0; i < n; i += 100) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 500, clean: true })))));
  }
  return out;
}

/** Every meter publishes `each` messages (anchor-sized on interface 1, delivery-sized on 2); resolves with msgs/s at the sink. */
async function publishAll(meters: MqttClient[], each: number, sink: Sink, interfaces: 'both' | 'ledger' = 'both'): Promise<{ rate: number; total: number }> {
  const anchor = Buffer.alloc(130, 1);
  const delivery = Buffer.alloc(260, 2);
  const start = sink.count;
  const total = meters.length * each;
  const t0 = performance.now();
  meters.forEach((c, i) => {
    for (let k = 0; k < each; k++) {
      const ledger = interfaces === 'ledger' || k % 2 === 0;
      c.publish(ledger ? `meterseal/v1/ledger/anchor/BM-${i}` : `meterseal/v1/collector/reading/BM-${i}`, ledger ? anchor : delivery, { qos: 1 });
    }
  });
  while (sink.count - start < total) await new Promise((r) => setTimeout(r, 5));
  return { rate: total / ((performance.now() - t0) / 1000), total };
}

/** CPU reference: ms per Ed25519 signature over an anchor, in this process. */
function signMs(): number {
  const key = generateKeyPair();
  const anchor = encodeAnchor({ meterId: 'BA-1', seq: 1n, keyId: new Uint8Array(8), readingHash: new Uint8Array(32) });
  for (let i = 0; i < 50; i++) signRecord(anchor, key.secretKey);
  const n = 500;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) signRecord(anchor, key.secretKey);
  return (performance.now() - t0) / n;
}

function writeBytes(): number {
  const m = /write_bytes:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** RSS of plain node with the given flags, no code loaded, idle: the floor under every child. */
async function nodeIdleMB(flags: string[]): Promise<number> {
  // VmHWM, not ru_maxrss, which a child inherits from this (large) process across execve (gateway-child.ts)
  const p = spawn(process.execPath, [...flags, '-e', "setTimeout(() => console.log(/VmHWM:\\s*(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))?.[1] ?? process.resourceUsage().maxRSS), 200)"], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => p.once('exit', r));
  return Number(out.trim()) / 1024;
}

/**
 * Bytes written to storage per reading by the shared outbox alone, `readings` of anchor/delivery sizes spread
 * over `meters` meters, committed `perCommit` at a time (1 = one transaction and fsync per reading).
 */
async function outboxBytesPerReading(readings: number, meters: number, perCommit: number, sizes: { anchor: number; delivery: number }): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-bench-outbox-'));
  try {
    const box = new SharedOutbox(join(dir, 'outbox.sqlite'), { commitWindowMs: 1000, commitMaxItems: perCommit });
    const w0 = writeBytes();
    for (let i = 0; i < readings; i += perCommit) {
      const batch = Array.from({ length: Math.min(perCommit, readings - i) }, (_, k) =>
        box.enqueue(`BO-${(i + k) % meters}`, () => ({ anchor: new Uint8Array(sizes.anchor).fill(i + k), delivery: new Uint8Array(sizes.delivery).fill(k) })));
      await Promise.all(batch);
    }
    box.close();
    return (writeBytes() - w0) / readings;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const gatewayBench: Benchmark = {
  name: 'gateway',
  description: 'edge gateway: forwarding rate and RSS with 1,000 meters, backlog drain, disk bytes per reading, agent RSS and CPU',
  async run({ progress, quick, n }) {
    const meterCount = n ?? (quick ? 50 : 1000);
    const each = quick ? 2 : 20;
    const closers = new Closers();
    BUNDLE = await bundleChild();
    try {
      // 1. forwarding
      const sink = await startSink();
      closers.add(() => sink.close());
      const fwdFlags = unitNodeFlags('gateway');
      progress(`gateway: ${meterCount} meters straight to the upstream broker (reference)`);
      const direct = await connectMeters(sink.url, meterCount);
      closers.add(() => Promise.all(direct.map((c) => c.endAsync(true))));
      const ref = await publishAll(direct, each, sink);
      /** The forwarder in its own process with these node flags; the meters publish through it, then leave. */
      const forwardThrough = async (flags: string[]): Promise<{ rate: number; total: number; stats: { maxRssBytes: number; cpuUs: number; mem: Record<string, number> } }> => {
        progress(`gateway: ${meterCount} meters through the gateway's local broker (node ${flags.join(' ') || 'without flags'})`);
        const fwd = child(['forwarder', JSON.stringify({ host: '127.0.0.1', port: 0, ledgerUrl: sink.url, collectorUrl: sink.url, maxQueued: 50_000 })], flags);
        const quit = (): Promise<unknown> => { fwd.send('quit'); return new Promise((r) => (fwd.proc.exitCode !== null ? r(null) : fwd.proc.once('exit', r))); };
        const meters: MqttClient[] = [];
        try {
          meters.push(...(await connectMeters(await fwd.line('URL'), meterCount)));
          await publishAll(meters, 1, sink); // warm-up: every meter's answer subscription made
          const r = await publishAll(meters, each, sink);
          fwd.send('stats');
          return { ...r, stats: JSON.parse(await fwd.line('STATS')) as { maxRssBytes: number; cpuUs: number; mem: Record<string, number> } };
        } finally {
          await Promise.all(meters.map((c) => c.endAsync(true)));
          await quit();
        }
      };
      const fw = await forwardThrough(fwdFlags);
      const fstats = fw.stats;
      const fwPlain = await forwardThrough([]);

      // 2. backlog of the polled path: both back ends down while the meters are read
      const polledCount = quick ? 10 : 100;
      const polls = quick ? 3 : 40;
      progress(`gateway: backlog of ${polledCount} meters x ${polls} polls with ledger and collector down`);
      const polled = Array.from({ length: polledCount }, (_, i) => ({ meterId: `BP-${i}`, customerAccount: `ACC-BP-${i}` }));
      const b = await startBackends([...polled, { meterId: 'BA-1', customerAccount: 'ACC-BA' }, { meterId: 'BA-2', customerAccount: 'ACC-BA' }], log);
      closers.add(() => b.close());
      const gw = await startGateway({
        dataDir: join(b.dir, 'gateway'), gatewayId: 'GW-BENCH', meters: polled, intervalMs: 3_600_000, requestTimeoutMs: 5000,
        maxInFlight: 64, minFreeBytes: 0, ledger: { url: b.ledgerUrl }, collector: { url: b.collectorUrl },
      }, { log, sources: Object.fromEntries(polled.map((m) => [m.meterId, countingSource()])) });
      closers.add(() => gw.close());
      await gw.enrolled;
      await Promise.all([b.stopLedger(), b.stopCollector()]);
      const w0 = writeBytes();
      const p0 = performance.now();
      for (let i = 0; i < polls; i++) await gw.pollNow();
      const pollRate = (polls * polled.length) / ((performance.now() - p0) / 1000);
      const backlog = polls * polled.length;
      const bytesPerReading = (writeBytes() - w0) / backlog;
      const payload = new OutboxMeter(join(b.dir, 'gateway', OUTBOX_FILE));
      const payloadPerReading = payload.queuedBytes() / backlog; // anchor + delivery as signed
      payload.close();
      const commits = gw.stats().outbox;
      await Promise.all([b.startLedger(), b.startCollector()]);
      const t0 = performance.now(); // from the moment both are back
      while (!gw.drained()) await new Promise((r) => setTimeout(r, 20));
      const drainRate = backlog / ((performance.now() - t0) / 1000);
      await gw.close();
      const sizes = { anchor: 130, delivery: Math.max(1, Math.round(payloadPerReading) - 130) };
      const perReadingCommit = await outboxBytesPerReading(quick ? 50 : 500, polledCount, 1, sizes);
      const groupCommit = await outboxBytesPerReading(quick ? 50 : 500, polledCount, polledCount, sizes);

      // 3. the agent in its own process
      progress('gateway: agent RSS and CPU per reading');
      const readings = quick ? 10 : 500;
      const agentFlags = unitNodeFlags('agent');
      const runAgent = async (id: string, flags: string[]): Promise<{ maxRssBytes: number; cpuUs: number; elapsedMs: number; mem: Record<string, number> }> => {
        const agent = child(['agent', JSON.stringify({ dataDir: join(b.dir, `agent-${id}`), meterId: id, customerAccount: 'ACC-BA', firmwareHash: '00'.repeat(32), intervalMs: 3_600_000, ledger: { url: b.ledgerUrl }, collector: { url: b.collectorUrl } }), String(readings)], flags);
        return JSON.parse(await agent.line('STATS')) as { maxRssBytes: number; cpuUs: number; elapsedMs: number; mem: Record<string, number> };
      };
      const astats = await runAgent('BA-1', agentFlags);
      const plainAgent = await runAgent('BA-2', []);
      const base = JSON.parse(await child(['baseline', 'agent'], agentFlags).line('STATS')) as { maxRssBytes: number };
      const fbase = JSON.parse(await child(['baseline', 'forwarder'], fwdFlags).line('STATS')) as { maxRssBytes: number };
      const idle = { agent: await nodeIdleMB(agentFlags), gateway: await nodeIdleMB(fwdFlags) };
      const MB = 1024 * 1024;
      const children = BUNDLE ? 'node' : 'node + tsx';
      const figures: Figure[] = [
        compare({ metric: 'forwarding rate', value: fw.rate, unit: 'msgs/s' }, { metric: 'same meters straight to the broker', value: ref.rate, unit: 'msgs/s' }, 'value ≥ 5000 msgs/s'),
        { ...compare({ metric: 'forwarder peak RSS', value: fstats.maxRssBytes / MB, unit: 'MB' }, { metric: `${children} with the forwarder's code loaded, idle`, value: fbase.maxRssBytes / MB, unit: 'MB' }), target: 'value ≤ 150 MB' },
        compare({ metric: 'forwarding rate with the unit\'s node flags', value: fw.rate, unit: 'msgs/s' }, { metric: 'the same without them', value: fwPlain.rate, unit: 'msgs/s' }),
        compare({ metric: 'forwarder peak RSS with the unit\'s node flags', value: fstats.maxRssBytes / MB, unit: 'MB' }, { metric: 'the same without them', value: fwPlain.stats.maxRssBytes / MB, unit: 'MB' }),
        compare({ metric: `backlog drain rate (${polledCount} meters, both interfaces)`, value: drainRate, unit: 'readings/s' }, { metric: 'readings stored per second while both were down', value: pollRate, unit: 'readings/s' }),
        compare({ metric: 'bytes written to storage per reading (shared outbox, group commit, WAL, FULL sync)', value: bytesPerReading, unit: 'B' }, { metric: 'signed payload bytes per reading (anchor + delivery)', value: payloadPerReading, unit: 'B' }),
        compare({ metric: `outbox alone: bytes per reading, ${polledCount} readings per commit`, value: groupCommit, unit: 'B' }, { metric: 'the same outbox, one commit (fsync) per reading', value: perReadingCommit, unit: 'B' }),
        { ...compare({ metric: 'agent peak RSS', value: astats.maxRssBytes / MB, unit: 'MB' }, { metric: `${children} with the agent's code loaded, idle`, value: base.maxRssBytes / MB, unit: 'MB' }), target: 'value ≤ 60 MB' },
        compare({ metric: 'agent peak RSS, the same run without the unit\'s node flags', value: plainAgent.maxRssBytes / MB, unit: 'MB' }, { metric: 'plain node, nothing loaded, idle (no flags)', value: await nodeIdleMB([]), unit: 'MB' }),
        compare({ metric: 'agent CPU time per reading (sign, store, both uplinks)', value: astats.cpuUs / readings / 1000, unit: 'ms' }, { metric: 'one Ed25519 anchor signature in this process', value: signMs(), unit: 'ms' }),
      ];
      return {
        name: 'gateway',
        params: {
          children: BUNDLE ? 'esbuild bundle (code-split), plain node' : 'node + tsx', meters: meterCount, messagesPerMeter: each, forwarded: fw.total,
          polledMeters: polledCount, polls, backlog, readingsPerCommit: round(commits.items / Math.max(1, commits.count)), agentReadings: readings,
          forwarderCpuMs: round(fstats.cpuUs / 1000), agentFlags: agentFlags.join(' ') || '(none)', gatewayFlags: fwdFlags.join(' ') || '(none)',
          nodeIdleMBAgentFlags: round(idle.agent), nodeIdleMBGatewayFlags: round(idle.gateway), agentCpuMsPerReadingNoFlags: round(plainAgent.cpuUs / readings / 1000),
          agentMemAtEnd: JSON.stringify(astats.mem), forwarderMemAtEnd: JSON.stringify(fstats.mem),
        },
        figures,
        notes: [
          'forwarding: meters and upstream broker share this process; the forwarder runs alone in a child process (its RSS is its own).',
          BUNDLE ? 'children: an esbuild bundle (code-split per mode) on plain node, with the node flags of the deployed units; RSS references are that code loaded and idle with the same flags.'
            : 'children: node + tsx (esbuild unavailable), which compiles every file on load; the RSS reference is that floor.',
          `backlog: ${polledCount} polled meters x ${polls} polls = ${backlog} readings while both back ends were down (one hour of 1,000 meters at 15-minute intervals is 4,000).`,
          'bytes per reading: /proc/self/io write_bytes of the bench process while only the gateway wrote (both back ends down); the outbox-alone pair writes the same payload sizes in a temp dir.',
        ],
      };
    } finally {
      await closers.closeAll();
    }
  },
};
