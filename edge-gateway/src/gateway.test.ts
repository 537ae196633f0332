// The gateway against a real ledger and a real collector (embedded aedes brokers on loopback ports, SQLite
// stores in a temp dir): outages of either path, a restart, a failed read, the disk cap, and forwarding.
import t from 'tap';
import { join } from 'node:path';
import pino from 'pino';
import { startAgent } from '@meterseal/device';
import { startGateway, type GatewayHandle } from './gateway.js';
import type { GatewayConfigInput } from './config.js';
import { countingSource, ledgerAnchors, seqCoverage, startBackends, waitUntil, type Backends } from './testing.js';

const log = pino({ level: 'silent' });
const METERS = ['GM-1', 'GM-2', 'GM-3'].map((meterId, i) => ({ meterId, customerAccount: `ACC-${i + 1}`, unitId: i + 1 }));
const range = (a: number, b: number): bigint[] => Array.from({ length: b - a + 1 }, (_, i) => BigInt(a + i));

function gwConfig(b: Backends, extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return {
    dataDir: join(b.dir, 'gateway'), gatewayId: 'GW-1', meters: METERS, intervalMs: 3_600_000, requestTimeoutMs: 1000,
    ledger: { url: b.ledgerUrl }, collector: { url: b.collectorUrl }, minFreeBytes: 0, ...extra,
  };
}

async function collectorSeqs(b: Backends, meterId: string): Promise<bigint[]> {
  return (await b.collector!.store.readings(meterId, 1n, 1n << 62n)).map((r) => r.reading.seq);
}

t.test('either path down for a while: every reading delivered on both afterwards, none twice; a restart continues the seqs', async (t) => {
  const b = await startBackends(METERS);
  t.teardown(() => b.close());
  const sources = Object.fromEntries(METERS.map((m) => [m.meterId, countingSource()]));
  let gw: GatewayHandle = await startGateway(gwConfig(b), { log, sources });
  t.teardown(() => gw.close());
  await gw.enrolled;
  for (let i = 0; i < 3; i++) await gw.pollNow();
  await waitUntil('first readings delivered', () => gw.drained());

  await b.stopLedger();
  for (let i = 0; i < 3; i++) await gw.pollNow();
  await waitUntil('collector keeps collecting while the ledger is down', async () => (await collectorSeqs(b, 'GM-3')).length === 6);
  t.equal(gw.stats().meters['GM-1']!.ledgerPending, 3, 'nothing anchored while the ledger is down');
  await b.startLedger();
  await waitUntil('ledger backlog drains', () => gw.drained());

  await b.stopCollector();
  for (let i = 0; i < 2; i++) await gw.pollNow();
  await waitUntil('anchoring goes on while the collector is down', () => gw.stats().meters['GM-2']!.ledgerPending === 0);
  t.equal(gw.stats().meters['GM-2']!.collectorPending, 2, 'nothing collected while the collector is down');
  await b.startCollector();
  await waitUntil('collector backlog drains', () => gw.drained());

  await gw.close();
  gw = await startGateway(gwConfig(b), { log, sources });
  await gw.enrolled;
  await gw.pollNow();
  await waitUntil('post-restart reading delivered', () => gw.drained());
  t.equal(gw.stats().meters['GM-1']!.nextSeq, '10', 'seqs continue after a restart: 9 used, never one again');

  const anchors = ledgerAnchors(b.ledgerDir);
  for (const m of METERS) {
    t.same(anchors.get(m.meterId), range(1, 9), `${m.meterId}: ledger holds seqs 1..9 exactly once each`);
    t.same(await collectorSeqs(b, m.meterId), range(1, 9), `${m.meterId}: collector holds seqs 1..9 exactly once each`);
  }
  t.same(b.ledger!.stats().rejected, {}, 'the ledger refused nothing');
  t.same(b.collector!.stats().rejected, {}, 'the collector refused nothing');
});

t.test('a meter that does not answer for an interval: a signed SerialFailure gap, anchored and stored as explained', async (t) => {
  const b = await startBackends(METERS.slice(0, 1));
  t.teardown(() => b.close());
  const src = countingSource();
  const gw = await startGateway(gwConfig(b, { meters: METERS.slice(0, 1) }), { log, sources: { 'GM-1': src } });
  t.teardown(() => gw.close());
  await gw.enrolled;
  await gw.pollNow();
  src.fail = true;
  await gw.pollNow();
  src.fail = false;
  await gw.pollNow();
  await waitUntil('delivered', () => gw.drained());
  t.same(ledgerAnchors(b.ledgerDir).get('GM-1'), range(1, 3), 'the gap is anchored at its seq like a reading');
  t.same(await collectorSeqs(b, 'GM-1'), [1n, 3n], 'readings at 1 and 3');
  const gaps = b.collector!.gaps.explainedGaps('GM-1');
  t.equal(gaps.length, 1);
  t.match(gaps[0], { firstSeq: 2n, lastSeq: 2n, reason: 'SerialFailure', signer: 'GW-1' }, 'seq 2 is an explained gap signed by the gateway');
});

t.test('disk cap reached: polling stops, nothing is dropped, and a DiskFull gap is anchored once the queue drains', async (t) => {
  const b = await startBackends(METERS.slice(0, 1));
  t.teardown(() => b.close());
  const src = countingSource();
  const gw = await startGateway(gwConfig(b, { meters: METERS.slice(0, 1), diskCapBytes: 2048 }), { log, sources: { 'GM-1': src } });
  t.teardown(() => gw.close());
  await gw.enrolled;
  await b.stopLedger(); // nothing is fully acknowledged: the queue only grows
  for (let i = 0; i < 30 && !gw.diskFull(); i++) await gw.pollNow();
  t.ok(gw.diskFull(), 'the cap was reached');
  const readsAtCap = src.reads;
  for (let i = 0; i < 3; i++) await gw.pollNow();
  t.equal(src.reads, readsAtCap, 'polling stopped: the meter was not read while the disk was full');
  t.ok(gw.stats().pollsSkipped >= 3, 'polls skipped');
  await b.startLedger();
  await waitUntil('queue drains', () => gw.drained());
  await gw.pollNow(); // prunes, finds room, records the gap, reads again
  t.notOk(gw.diskFull(), 'polling resumed');
  await waitUntil('gap delivered', () => gw.drained());
  const last = BigInt(gw.stats().meters['GM-1']!.nextSeq) - 1n;
  const gaps = b.collector!.gaps.explainedGaps('GM-1');
  t.equal(gaps.length, 1, 'one gap');
  t.equal(gaps[0]!.reason, 'DiskFull');
  t.ok(ledgerAnchors(b.ledgerDir).get('GM-1')!.includes(gaps[0]!.firstSeq), 'the gap is anchored in the ledger');
  const cover = seqCoverage(await collectorSeqs(b, 'GM-1'), gaps, last);
  t.same(cover, { missing: [], doubled: [] }, 'every seq is a reading or an explained gap, none twice');
  t.equal(src.reads, readsAtCap + 1, 'one read after the gap');
});

t.test('a meter signing its own readings through the local broker: forwarded untouched, answered, delivered', async (t) => {
  const own = { meterId: 'OWN-1', customerAccount: 'ACC-OWN' };
  const b = await startBackends([own]);
  t.teardown(() => b.close());
  const gw = await startGateway(gwConfig(b, { meters: [], localBroker: { enabled: true, port: 0 } }), { log });
  t.teardown(() => gw.close());
  const url = gw.localBrokerUrl!;
  const agent = await startAgent(
    { dataDir: join(b.dir, 'agent'), ...own, intervalMs: 3_600_000, requestTimeoutMs: 2000, ledger: { url }, collector: { url } },
    { log, source: countingSource() },
  );
  t.teardown(() => agent.close());
  await agent.enrolled;
  for (let i = 0; i < 3; i++) await agent.readNow();
  await waitUntil('agent drained through the gateway', () => agent.drained());
  t.same(ledgerAnchors(b.ledgerDir).get('OWN-1'), range(1, 3), 'anchored by the ledger as the meter signed them');
  t.same(await collectorSeqs(b, 'OWN-1'), range(1, 3), 'collected');
  const s = gw.stats().forwarder!;
  t.ok(s.forwarded.ledger >= 7 && s.forwarded.collector >= 4, 'register, challenge, auth, bind, 3 anchors; keys and 3 deliveries forwarded');
});
