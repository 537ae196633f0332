// `npm run bench -- load` (issue 8 item 4): 10,000 simulated meters (load-fleet.ts: multiplexed over a few MQTT
// connections, onboarded with the device's enrol() and their readings signed before anything is timed) send
// their readings through Debian's mosquitto to a ledger and a collector, both on that external broker: each
// anchor to the ledger, each full reading to the collector, as the agent's two uplinks do.
// Reference, measured in the same run on the same ledger data directory: the same number of anchors from the
// same meters straight into the ledger's embedded broker (as the `ledger` benchmark does), nothing else running.
// Nothing may be lost: every anchor answered as appended (not a duplicate) and every reading as stored, and the
// counts in the ledger's and the collector's SQLite files are checked afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { DB_FILE, startLedger } from '@meterseal/ledger-service';
import { startCollector } from '@meterseal/collector-system';
import { writeWhitelist } from '@meterseal/ledger-service/testing/harness';
import { Closers } from './closers.js';
import { announce, connectShards, fleetIds, onboard, sendAll, signReadings, type SignedReading } from './load-fleet.js';
import { compare, type Benchmark } from './types.js';

export const DEFAULT_LOAD_METERS = 10_000;
export const MOSQUITTO = '/usr/sbin/mosquitto';
/** Readings per meter in each of the two phases (reference seqs 1..R, end to end R+1..2R). */
const PER_METER = 2;
const METERS_PER_SHARD = 250;
/** Readings unanswered at once over the whole fleet (the `ledger` benchmark keeps 32 × 20 = 640 anchors open). */
const IN_FLIGHT = 1024;

const silent = pino({ level: 'silent' });

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });

/** mosquitto on 127.0.0.1 (plain TCP, anonymous, no persistence, unbounded queues); killed by close(). */
export async function startMosquitto(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  if (!existsSync(MOSQUITTO)) throw new Error(`the load benchmark needs Debian's mosquitto at ${MOSQUITTO} (apt-get install mosquitto)`);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 0', 'max_queued_bytes 0',
    'max_inflight_messages 0', 'set_tcp_nodelay true', 'log_dest stderr', 'log_type error', ''].join('\n'));
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')).slice(-2000));
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await gone;
  };
  const deadline = Date.now() + 20_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`mosquitto did not start on port ${port}: ${err.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `mqtt://127.0.0.1:${port}`, close };
}

function anchorRows(dataDir: string): { rows: number; distinct: number } {
  const db = new Database(join(dataDir, DB_FILE), { readonly: true });
  try {
    const r = db.prepare('SELECT count(*) AS rows, count(DISTINCT meter || \':\' || seq) AS distinct_ FROM anchors').get() as { rows: number; distinct_: number };
    return { rows: r.rows, distinct: r.distinct_ };
  } finally {
    db.close();
  }
}

/** Sorted by seq, then meter: every meter's first reading, then every meter's second, as a fleet reads. */
const bySeq = (rs: SignedReading[]): SignedReading[] => rs.sort((a, b) => (a.seq === b.seq ? a.meter - b.meter : a.seq < b.seq ? -1 : 1));

export const loadBench: Benchmark = {
  name: 'load',
  description: 'N meters (default 10,000) through mosquitto into the ledger and the collector, nothing lost, vs the ledger alone on its embedded broker',
  async run({ n = DEFAULT_LOAD_METERS, progress }) {
    const meters = Math.max(1, n);
    const shardCount = Math.max(1, Math.min(40, Math.ceil(meters / METERS_PER_SHARD)));
    const fleet = fleetIds(meters, shardCount);
    const dir = mkdtempSync(join(tmpdir(), 'meterseal-bench-load-'));
    const ledgerDir = join(dir, 'ledger');
    const collectorDir = join(dir, 'collector');
    mkdirSync(ledgerDir);
    mkdirSync(collectorDir);
    const open = new Closers();
    const timeoutMs = Math.max(120_000, meters * 30);
    try {
      // 1. untimed: onboard every meter on the ledger (its embedded broker), sign both phases' readings
      writeWhitelist(ledgerDir, fleet.map(({ meterId, customerAccount }) => ({ meterId, customerAccount })));
      const embedded = await startLedger({ dataDir: ledgerDir, mqtt: { port: 0 }, http: { port: 0 } }, { log: silent });
      open.add(() => embedded.close());
      let shards = await connectShards(embedded.mqttUrl, fleet, shardCount);
      open.add(() => Promise.all(shards.map((s) => s.close())));
      progress(`load: onboarding ${meters} meters over ${shardCount} MQTT connections`);
      const t0 = performance.now();
      const sessions = await onboard(shards, fleet, progress, timeoutMs);
      const onboardS = (performance.now() - t0) / 1000;
      progress(`load: signing ${2 * PER_METER * meters} readings`);
      const reference = bySeq(signReadings(fleet, sessions, PER_METER, 1n));
      const endToEnd = bySeq(signReadings(fleet, sessions, PER_METER, BigInt(PER_METER) + 1n));
      const inFlight = Math.min(IN_FLIGHT, reference.length);

      // 2. the reference: the anchors alone, straight into the ledger's embedded broker
      progress(`load: reference — ${reference.length} anchors into the ledger's embedded broker, ${inFlight} in flight`);
      const refMs = await sendAll(shards, fleet, reference, { inFlight, deliveries: false, timeoutMs, progress });
      await open.closeAll();

      // 3. end to end: mosquitto between the meters and both services
      const broker = await startMosquitto(dir);
      open.add(() => broker.close());
      const ledger = await startLedger({ dataDir: ledgerDir, mqtt: { url: broker.url }, http: { port: 0 } }, { log: silent });
      open.add(() => ledger.close());
      const collector = await startCollector({ dataDir: collectorDir, mqtt: { url: broker.url }, trust: { ledgerKeyDir: ledgerDir } }, { log: silent });
      open.add(() => collector.close());
      shards = await connectShards(broker.url, fleet, shardCount);
      open.add(() => Promise.all(shards.map((s) => s.close())));
      progress(`load: announcing ${meters} session keys to the collector`);
      await announce(shards, fleet, sessions, timeoutMs);
      progress(`load: end to end — ${endToEnd.length} readings through mosquitto to the ledger and the collector, ${inFlight} in flight`);
      const e2eMs = await sendAll(shards, fleet, endToEnd, { inFlight, deliveries: true, timeoutMs, progress });
      const counts = await collector.store.counts();
      await open.closeAll();

      // 4. nothing lost, nothing twice: the stores themselves
      const anchors = anchorRows(ledgerDir);
      const expected = reference.length + endToEnd.length;
      if (anchors.rows !== expected || anchors.distinct !== expected) {
        throw new Error(`the ledger holds ${anchors.rows} anchors (${anchors.distinct} distinct (meter, seq)), expected ${expected}`);
      }
      if (counts.readings !== endToEnd.length || counts.conflicts !== 0) {
        throw new Error(`the collector holds ${counts.readings} readings and ${counts.conflicts} conflicts, expected ${endToEnd.length} and 0`);
      }

      const e2eRate = (endToEnd.length * 1000) / e2eMs;
      const refRate = (reference.length * 1000) / refMs;
      return {
        name: 'load',
        params: {
          meters, readingsPerMeter: PER_METER, mqttConnections: shardCount, inFlight, onboardSeconds: Math.round(onboardS * 10) / 10,
          endToEndSeconds: Math.round(e2eMs) / 1000, referenceSeconds: Math.round(refMs) / 1000, anchorsInLedger: anchors.rows, readingsInCollector: counts.readings,
        },
        figures: [
          compare(
            { metric: 'end to end via mosquitto (anchored + stored)', value: e2eRate, unit: 'anchors/s' },
            { metric: 'ledger alone (embedded broker, anchors only)', value: refRate, unit: 'anchors/s' },
            'ratio ≥ 0.5',
          ),
        ],
        notes: [
          `${meters} meters on ${shardCount} MQTT connections; ledger and collector in this process, mosquitto ${MOSQUITTO} in its own`,
          'every anchor answered as appended and every reading as stored, once; counts checked in both SQLite stores',
        ],
      };
    } finally {
      await open.closeAll().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
