// Issue 2 §3: the two interfaces are independent — one path down must not stall the other, and a reading
// taken while a path is down is delivered when it comes back (the agent's durable outbox).
import t from 'tap';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startLedger } from '@meterseal/ledger-service';
import { startCollector } from '@meterseal/collector-system';
import { startAgent } from '@meterseal/device';
import { createInProcessLink, startSimulator } from '@meterseal/simulator';
import { freePort, waitUntil } from './harness.js';

const log = pino({ level: 'silent' });

t.test('collector down: anchoring goes on; ledger down: collecting goes on; each backlog drains on return', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-paths-'));
  const L = join(dir, 'ledger');
  mkdirSync(L, { recursive: true });
  writeFileSync(join(L, 'whitelist.json'), JSON.stringify({ meters: [{ meterId: 'M-1', customerAccount: 'ACC-1' }] }));
  const [ledgerMqtt, ledgerHttp, collectorMqtt] = await Promise.all([freePort(), freePort(), freePort()]);
  const ledgerConfig = { dataDir: L, mqtt: { port: ledgerMqtt }, http: { port: ledgerHttp } };
  const collectorConfig = { dataDir: join(dir, 'collector'), mqtt: { port: collectorMqtt }, trust: { ledgerKeyDir: L } };

  let ledger = await startLedger(ledgerConfig, { log });
  const link = createInProcessLink();
  const sim = await startSimulator({ seed: 3 }, { log, stream: link.serverStream });
  const agent = await startAgent(
    { dataDir: join(dir, 'agent'), meterId: 'M-1', customerAccount: 'ACC-1', intervalMs: 100, requestTimeoutMs: 1000,
      ledger: { url: `mqtt://127.0.0.1:${ledgerMqtt}` }, collector: { url: `mqtt://127.0.0.1:${collectorMqtt}` } },
    { log, port: link.clientPort },
  );
  let collector: Awaited<ReturnType<typeof startCollector>> | null = null;
  t.teardown(async () => {
    await agent.close();
    await collector?.close();
    await ledger.close();
    await sim.close();
    link.close();
  });
  await agent.enrolled;

  await waitUntil('10 readings anchored while the collector is down', () => ledger.stats().anchored >= 10);
  t.equal(agent.stats().outbox.collectorAcked, 0, 'nothing reached the collector: it is down');
  t.ok(agent.stats().outbox.ledgerAcked >= 10, 'interface 1 kept going');

  collector = await startCollector(collectorConfig, { log });
  const c = collector;
  await waitUntil('the collector backlog drains', () => c.stats().collected >= 10, 30_000);

  await ledger.close();
  const anchoredBefore = agent.stats().outbox.ledgerAcked;
  const collectedAtLedgerStop = c.stats().collected;
  await waitUntil('readings keep being collected while the ledger is down', () => c.stats().collected >= collectedAtLedgerStop + 10, 30_000);
  t.ok(agent.stats().outbox.ledgerAcked - anchoredBefore <= 1, 'no anchors acknowledged while the ledger is down');

  ledger = await startLedger(ledgerConfig, { log });
  const l = ledger;
  await agent.stopReadings();
  await waitUntil('both backlogs drain', () => agent.drained(), 30_000);
  const taken = agent.stats().outbox.readings;
  t.equal(l.stats().anchored, taken, 'every reading taken is anchored, including those queued through the outage');
  t.equal(c.stats().collected, taken, 'every reading taken is collected');
  t.same(l.stats().rejected, {}, 'the ledger was never sent anything it refused (nothing crossed over from interface 2)');
  t.same(c.stats().rejected, {}, 'the collector was never sent anything it refused');
});
