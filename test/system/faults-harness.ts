// Helpers for the fault-injection and load system tests (issue 8 items 3-4): Debian's mosquitto as the external
// broker between agents and the ledger/collector, the ledger and the collector as real `meterseal` processes
// (so they can be killed with SIGKILL and restarted on the same data directory), in-process agents on a
// counting meter, and read-only looks into every SQLite store to count what was acknowledged, anchored, stored.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import {
  RecordType, TILE_WIDTH, decodeAnchor, fromHex, openCheckpoint, parseEntryBundle, parseVerifierKey, splitSigned, tilePath, verifyConsistency, type Checkpoint,
} from '@meterseal/protocol';
import { startAgent, type AgentHandle } from '@meterseal/device';
import { countingSource } from '../../edge-gateway/src/testing.js';
import { fileURLToPath } from 'node:url';
import { freePort, waitUntil } from './harness.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const mosquittoAvailable = (): boolean => existsSync(MOSQUITTO);

/** A seeded RNG (mulberry32, the simulator's fault dice): the same seed gives the same kill points; each test prints its seed. */
export { seededRng } from '@meterseal/simulator';

export function seedFromEnv(): number {
  const s = process.env.METERSEAL_FAULT_SEED;
  return s !== undefined && /^[0-9]{1,10}$/.test(s) ? Number(s) : Math.floor(Math.random() * 2 ** 31);
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export interface Mosquitto {
  url: string;
  port: number;
  /** Starts (again) on the same port; resolves once it accepts TCP connections. */
  start(): Promise<void>;
  /** SIGKILL (default) or SIGTERM; resolves once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  log: string[];
}

/**
 * mosquitto 2 on 127.0.0.1, anonymous, no persistence: a restart drops every session and every queued message,
 * so only the agents' own retries bring what was in flight through. Queues are unbounded (the default of 1000
 * queued QoS 1 messages per client would drop anchors while the ledger applies backpressure).
 */
export async function startMosquitto(dir: string): Promise<Mosquitto> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [
    `listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 0', 'max_queued_bytes 0',
    'max_inflight_messages 0', 'set_tcp_nodelay true', 'log_dest stderr', 'log_type error', 'log_type warning', '',
  ].join('\n'));
  let child: ChildProcess | null = null;
  const log: string[] = [];
  const m: Mosquitto = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    log,
    async start() {
      if (child) return;
      const c = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      c.stderr!.on('data', (d: Buffer) => log.push(d.toString('utf8')));
      child = c;
      c.once('exit', () => { if (child === c) child = null; });
      await waitUntil(`mosquitto listens on ${port}`, async () => {
        if (c.exitCode !== null) throw new Error(`mosquitto exited (${c.exitCode}): ${log.join('').slice(-500)}`);
        return portOpen(port);
      }, 20_000, 50);
    },
    async stop(signal = 'SIGKILL') {
      const c = child;
      if (!c) return;
      const gone = new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
      c.kill(signal);
      await gone;
      child = null;
    },
  };
  await m.start();
  return m;
}

const SERVICE_CHILD = fileURLToPath(new URL('./faults-service-child.ts', import.meta.url));

/** A ledger or collector process (faults-service-child.ts), killable and restartable on the same config and data dir. */
export interface Service {
  dir: string;
  child: ChildProcess | null;
  /** Every stderr line of every run so far. */
  lines: string[];
  start(): Promise<void>;
  /** SIGKILL (default) or SIGTERM; resolves once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function service(kind: 'ledger' | 'collector', dir: string, config: object): Service {
  const file = join(dir, `${kind}.config.json`);
  writeFileSync(file, JSON.stringify(config));
  const s: Service = {
    dir,
    child: null,
    lines: [],
    async start() {
      const c = spawn(process.execPath, ['--import', 'tsx', SERVICE_CHILD, kind, file], { stdio: ['ignore', 'ignore', 'pipe'] });
      s.child = c;
      let buf = '';
      let ready = false;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${kind} not ready within 60 s: ${s.lines.slice(-5).join('\n')}`)), 60_000);
        c.stderr!.on('data', (d: Buffer) => {
          buf += d.toString('utf8');
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            s.lines.push(line);
            if (!ready && line.includes(`"${kind} ready"`)) {
              ready = true;
              clearTimeout(timer);
              resolve();
            }
          }
        });
        c.once('exit', (code, signal) => {
          if (s.child === c) s.child = null;
          if (!ready) {
            clearTimeout(timer);
            reject(new Error(`${kind} exited (${code ?? signal}) before it was ready: ${s.lines.slice(-5).join('\n')}`));
          }
        });
      });
    },
    async stop(signal = 'SIGKILL') {
      const c = s.child;
      if (!c) return;
      const gone = new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
      c.kill(signal);
      await gone;
    },
  };
  return s;
}

export interface Stack {
  dir: string;
  broker: Mosquitto;
  ledger: Service;
  collector: Service;
  ledgerHttp: string;
  agents: AgentHandle[];
  agentDirs: string[];
  close(): Promise<void>;
}

export interface StackOptions {
  meters: number;
  intervalMs?: number;
  /** Extra ledger config (e.g. a data dir on a small filesystem). */
  ledgerDir?: string;
  collectorDir?: string;
  /** Whitelist these meters instead of F-1..F-<meters>, and start no agents for them (the load test's own fleet). */
  fleet?: { meterId: string; customerAccount: string }[];
}

/** mosquitto, a ledger and a collector process on it, and `meters` in-process agents publishing through it. */
export async function startStack(name: string, o: StackOptions): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), `meterseal-${name}-`));
  const broker = await startMosquitto(join(dir, 'mosquitto'));
  const ledgerDir = o.ledgerDir ?? join(dir, 'ledger');
  const collectorDir = o.collectorDir ?? join(dir, 'collector');
  mkdirSync(ledgerDir, { recursive: true });
  mkdirSync(collectorDir, { recursive: true });
  const ids = Array.from({ length: o.meters }, (_, i) => ({ meterId: `F-${i + 1}`, customerAccount: `ACC-F${i + 1}` }));
  writeFileSync(join(ledgerDir, 'whitelist.json'), JSON.stringify({ meters: o.fleet ?? ids }));
  const httpPort = await freePort();
  const ledger = service('ledger', ledgerDir, { dataDir: ledgerDir, mqtt: { url: broker.url }, http: { port: httpPort }, checkpointIntervalMs: 100, maxMergeDelayMs: 3000 });
  const collector = service('collector', collectorDir, { dataDir: collectorDir, mqtt: { url: broker.url }, trust: { ledgerKeyDir: ledgerDir } });
  const agents: AgentHandle[] = [];
  const agentDirs: string[] = [];
  const stack: Stack = {
    dir, broker, ledger, collector, ledgerHttp: `http://127.0.0.1:${httpPort}`, agents, agentDirs,
    async close() {
      await Promise.allSettled(agents.map((a) => a.close()));
      await Promise.allSettled([ledger.stop(), collector.stop()]);
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await ledger.start();
    await collector.start();
    const silent = pino({ level: 'silent' });
    for (const id of o.fleet ? [] : ids) {
      const agentDir = join(dir, 'agents', id.meterId);
      agentDirs.push(agentDir);
      agents.push(await startAgent(
        { dataDir: agentDir, ...id, intervalMs: o.intervalMs ?? 200, requestTimeoutMs: 2000, ledger: { url: broker.url }, collector: { url: broker.url } },
        { log: silent, source: countingSource() },
      ));
    }
    await Promise.all(agents.map((a) => a.enrolled));
  } catch (err) {
    await stack.close();
    throw err;
  }
  return stack;
}

/** Stops the agents' readings and waits until every reading is acknowledged on both interfaces. */
export async function drainAll(agents: AgentHandle[], timeoutMs = 120_000): Promise<void> {
  await Promise.all(agents.map((a) => a.stopReadings()));
  await waitUntil('every agent drained (all readings acknowledged by ledger and collector)', () => agents.every((a) => a.drained()), timeoutMs, 250);
}

function readonly<T>(file: string, f: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.defaultSafeIntegers(true);
    return f(db);
  } finally {
    db.close();
  }
}

/** One agent's outbox: every seq it made, and which of them the ledger / the collector acknowledged. */
export function outboxState(agentDir: string): { seqs: bigint[]; ledgerAcked: bigint[]; collectorAcked: bigint[] } {
  return readonly(join(agentDir, 'agent.sqlite'), (db) => {
    const rows = db.prepare('SELECT seq, ledger_leaf, collector_acked_at FROM readings ORDER BY seq').all() as { seq: bigint; ledger_leaf: string | null; collector_acked_at: string | null }[];
    return {
      seqs: rows.map((r) => r.seq),
      ledgerAcked: rows.filter((r) => r.ledger_leaf !== null).map((r) => r.seq),
      collectorAcked: rows.filter((r) => r.collector_acked_at !== null).map((r) => r.seq),
    };
  });
}

/** Every anchor leaf in the ledger's log per meter, duplicates kept (a second leaf for a (meter, seq) would show). */
export function ledgerLeaves(ledgerDir: string): Map<string, bigint[]> {
  return readonly(join(ledgerDir, 'ledger.sqlite'), (db) => {
    const rows = db.prepare('SELECT m.meter_id AS id, a.seq AS seq FROM anchors a JOIN anchor_meters m ON a.meter = m.num ORDER BY m.meter_id, a.seq').all() as { id: string; seq: bigint }[];
    const out = new Map<string, bigint[]>();
    for (const r of rows) out.set(r.id, [...(out.get(r.id) ?? []), BigInt(r.seq)]);
    return out;
  });
}

/** Every reading row in the collector's store per meter, plus the number of conflicting readings it recorded. */
export function collectorRows(collectorDir: string): { readings: Map<string, bigint[]>; conflicts: number } {
  return readonly(join(collectorDir, 'collector.sqlite'), (db) => {
    const rows = db.prepare('SELECT meter_id AS id, seq FROM readings ORDER BY meter_id, seq').all() as { id: string; seq: string }[];
    const readings = new Map<string, bigint[]>();
    for (const r of rows) readings.set(r.id, [...(readings.get(r.id) ?? []), BigInt(r.seq)]);
    const conflicts = Number((db.prepare('SELECT count(*) AS n FROM conflicts').get() as { n: bigint }).n);
    return { readings, conflicts };
  });
}

/** 1..n as bigints. */
export const seqRange = (n: number): bigint[] => Array.from({ length: n }, (_, i) => BigInt(i + 1));

/** The ledger's current checkpoint from GET /checkpoint, its signature checked with <ledgerDir>/ledger.vkey. */
export async function fetchCheckpoint(ledgerHttp: string, ledgerDir: string): Promise<Checkpoint> {
  const verifier = parseVerifierKey(readFileSync(join(ledgerDir, 'ledger.vkey'), 'utf8').trim());
  const res = await fetch(`${ledgerHttp}/checkpoint`);
  if (!res.ok) throw new Error(`GET /checkpoint: HTTP ${res.status}`);
  return openCheckpoint(await res.text(), verifier);
}

/** True when the ledger proves (RFC 9162 §2.1.4.2) that `newer` extends `older` (GET /v1/proof/consistency). */
export async function consistent(ledgerHttp: string, older: Checkpoint, newer: Checkpoint): Promise<boolean> {
  if (older.size === 0n) return true; // the empty tree is a prefix of every tree
  if (older.size === newer.size) return verifyConsistency(older.size, newer.size, [], older.root, newer.root);
  const res = await fetch(`${ledgerHttp}/v1/proof/consistency?from=${older.size}&to=${newer.size}`);
  if (!res.ok) throw new Error(`GET /v1/proof/consistency: HTTP ${res.status}`);
  const body = (await res.json()) as { proof: string[] };
  return verifyConsistency(older.size, newer.size, body.proof.map((h) => fromHex(h, 32)), older.root, newer.root);
}

/**
 * The anchors among the first `size` leaves of the log as anyone reads them (c2sp.org/tlog-tiles entry bundles
 * from GET /tile/entries/…, not the ledger's own index): meter -> seqs in leaf order, duplicates kept.
 */
export async function logAnchorLeaves(ledgerHttp: string, size: bigint): Promise<Map<string, bigint[]>> {
  const out = new Map<string, bigint[]>();
  const tw = BigInt(TILE_WIDTH);
  for (let n = 0n; n * tw < size; n++) {
    const width = Number(size - n * tw < tw ? size - n * tw : tw);
    const res = await fetch(`${ledgerHttp}/${tilePath('entries', n, width)}`);
    if (!res.ok) throw new Error(`GET ${tilePath('entries', n, width)}: HTTP ${res.status}`);
    for (const entry of parseEntryBundle(new Uint8Array(await res.arrayBuffer()), width)) {
      if (entry[0] !== RecordType.Anchor) continue;
      const a = decodeAnchor(splitSigned(entry).record);
      out.set(a.meterId, [...(out.get(a.meterId) ?? []), a.seq]);
    }
  }
  return out;
}
