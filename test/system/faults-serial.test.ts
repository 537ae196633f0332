// Issue 8 item 3, serial line disconnected mid-frame: agent and simulated meter talk Modbus RTU over real ptys
// (socat), through a small proxy in this test: agent ⇄ [socat pair A, its agent end at a fixed link path] ⇄
// proxy ⇄ [socat pair S] ⇄ simulator. At seeded-random moments the proxy forwards only the first half of the
// meter's answer and then kills socat A (the agent's serial device vanishes mid-frame); a while later pair A is
// recreated at the same path. Asserted: the agent reports typed read errors, records signed SerialFailure gaps
// for the missed intervals, reopens the line and reads on; every seq is a reading or a gap, the ledger and the
// collector agree, and no reading built from a partial frame was ever signed.
import t from 'tap';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { SerialPort } from 'serialport';
import { startAgent } from '@meterseal/device';
import { createPtyPair, socatAvailable, startSimulator, type PtyPair } from '@meterseal/simulator';
import { ledgerAnchors, seqCoverage, startBackends } from '../../edge-gateway/src/testing.js';
import { seedFromEnv, seededRng } from './faults-harness.js';
import { waitUntil } from './harness.js';

const CUTS = process.env.METERSEAL_LONG === '1' ? 10 : 3;
const METER = { meterId: 'SER-1', customerAccount: 'ACC-SER' };

function openPort(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const p = new SerialPort({ path, baudRate: 9600, autoOpen: false });
    p.open((err) => (err ? reject(err) : resolve(p)));
  });
}

const closePort = (p: SerialPort | null): Promise<void> => new Promise((r) => (p?.isOpen ? p.close(() => r()) : r()));

t.test(`serial line cut mid-frame ${CUTS} times: typed errors, signed gaps, reconnects, nothing corrupt signed`, { timeout: 180_000, skip: (await socatAvailable()) ? false : 'socat is not installed' }, async (t) => {
  const seed = seedFromEnv();
  const rng = seededRng(seed);
  t.comment(`seed ${seed} (METERSEAL_FAULT_SEED=${seed} repeats the cut points)`);
  const b = await startBackends([METER]);
  t.teardown(() => b.close());
  const link = join(b.dir, 'meter-tty');
  const silent = pino({ level: 'silent' });

  const S = await createPtyPair();
  t.teardown(() => S.close());
  const sim = await startSimulator({ path: S.a, seed: 7 }, { log: silent });
  t.teardown(() => sim.close());
  const meterSide = await openPort(S.b);
  t.teardown(() => closePort(meterSide));

  // the proxy: requests agent → meter as they come; answers meter → agent, or half of one before a cut
  let A: PtyPair | null = null;
  let agentSide: SerialPort | null = null;
  let cutNext = false;
  let halfFrames = 0;
  let cut: Promise<void> = Promise.resolve();
  const connectA = async (): Promise<void> => {
    A = await createPtyPair({ links: { a: link } });
    agentSide = await openPort(A.b);
    agentSide.on('data', (d: Buffer) => meterSide.write(d));
    agentSide.on('error', () => undefined);
  };
  meterSide.on('data', (d: Buffer) => {
    if (!agentSide) return; // the agent's line is down: the answer is lost, as on a pulled cable
    if (!cutNext) return void agentSide.write(d);
    cutNext = false;
    const dying = agentSide;
    const pair = A!;
    agentSide = null;
    A = null;
    halfFrames++;
    cut = new Promise<void>((resolve) => dying.write(d.subarray(0, Math.max(1, d.length >> 1)), () => dying.drain(() => resolve())))
      .then(() => closePort(dying))
      .then(() => pair.close());
  });
  await connectA();
  t.teardown(async () => {
    await closePort(agentSide);
    await (A as PtyPair | null)?.close();
    rmSync(link, { force: true });
  });

  const warnings: Record<string, unknown>[] = [];
  const agentLog = pino({ level: 'warn' }, { write: (l: string) => void warnings.push(JSON.parse(l) as Record<string, unknown>) });
  const agent = await startAgent(
    { dataDir: join(b.dir, 'agent'), ...METER, serial: { path: link, timeoutMs: 500 }, intervalMs: 300, requestTimeoutMs: 2000, ledger: { url: b.ledgerUrl }, collector: { url: b.collectorUrl } },
    { log: agentLog },
  );
  t.teardown(() => agent.close());
  await agent.enrolled;

  for (let i = 0; i < CUTS; i++) {
    const reads = agent.stats().readsTaken;
    await waitUntil('readings over the line', () => agent.stats().readsTaken >= reads + 2, 60_000);
    await new Promise((r) => setTimeout(r, rng() * 300));
    cutNext = true;
    await waitUntil('the line cut mid-frame', () => halfFrames === i + 1, 30_000);
    await cut;
    const errors = agent.stats().readErrors;
    await waitUntil('the agent notices the dead line', () => agent.stats().readErrors > errors, 30_000);
    await new Promise((r) => setTimeout(r, 300 + rng() * 900)); // down for a few intervals
    await connectA();
  }
  const reads = agent.stats().readsTaken;
  await waitUntil('reading again after the last cut', () => agent.stats().readsTaken >= reads + 2, 60_000);
  await agent.stopReadings();
  await waitUntil('every reading and gap acknowledged', () => agent.drained(), 60_000);
  await b.collector!.idle();

  t.equal(halfFrames, CUTS, `${CUTS} answers were cut after half their bytes, the line killed right after`);
  const failed = warnings.filter((w) => w.msg === 'reading failed');
  t.ok(failed.length >= CUTS, `the agent reported ${failed.length} failed reads`);
  t.ok(failed.every((w) => typeof w.code === 'string' && ['TIMEOUT', 'PORT', 'CRC', 'PROTOCOL'].includes(w.code)), `each with a typed code: ${[...new Set(failed.map((w) => w.code))].join(', ')}`);
  const gaps = b.collector!.gaps.explainedGaps(METER.meterId);
  t.ok(gaps.length >= CUTS, `${gaps.length} signed gaps stored for the missed intervals`);
  t.ok(gaps.every((g) => g.reason === 'SerialFailure' && g.firstSeq === g.lastSeq), 'each a one-seq SerialFailure gap');
  const stored = await b.collector!.store.readings(METER.meterId, 1n, 1n << 62n);
  const last = BigInt(agent.stats().outbox.readings);
  t.same(seqCoverage(stored.map((r) => r.reading.seq), gaps, last), { missing: [], doubled: [] }, `seqs 1..${last}: each a reading or a gap, once`);
  t.equal(ledgerAnchors(b.ledgerDir).get(METER.meterId)?.length, Number(last), 'the ledger anchored every reading and every gap');
  t.ok(stored.length > 2 * CUTS, `${stored.length} readings taken around the cuts`);

  // nothing corrupt signed: every stored reading has the profile's full register set, each value read back from
  // its own raw bytes, and the energy register never runs backwards
  const widths = new Set(stored.map((r) => r.reading.registers.length));
  t.same([...widths], [stored[0]!.reading.registers.length], 'every reading has the same, full register set');
  t.ok(stored.every((r) => r.reading.registers.every((g) => g.raw.length === 4)), 'every register built from 4 whole raw bytes (float32)');
  const energy = stored.map((r) => r.reading.registers.find((g) => g.obis.startsWith('1.0.1.8.0'))?.value ?? -1n);
  t.ok(energy.every((e, i) => e >= 0n && (i === 0 || e >= energy[i - 1]!)), 'the active-energy register never runs backwards');
  const db = new Database(join(b.dir, 'agent', 'agent.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  t.equal((db.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n, stored.length + gaps.length, 'the agent signed exactly the readings and gaps the collector holds');
});
