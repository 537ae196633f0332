// Inclusion promises with the real agent and the real ledger (docs/protocol.md §10.4): every reading the ledger
// acknowledges carries a promise; after its deadline the agent fetches the receipt and the promise is fulfilled.
// Then the ledger's log is truncated (its database deleted, same key, same ports): the anchors it promised are
// gone, and the agent records each promise as broken, with the signed promise kept as evidence.
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { fromHex, openInclusionPromise } from '@meterseal/protocol';
import { startLedger } from '@meterseal/ledger-service';
import { startAgent } from '@meterseal/device';
import { createInProcessLink, startSimulator } from '@meterseal/simulator';
import { freePort, waitUntil } from './harness.js';

t.test('promises are fulfilled by receipts; a truncated ledger log breaks them and the agent keeps the evidence', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-promises-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const L = join(dir, 'ledger');
  mkdirSync(L, { recursive: true });
  writeFileSync(join(L, 'whitelist.json'), JSON.stringify({ meters: [{ meterId: 'M-1', customerAccount: 'ACC-1' }] }));
  const [ledgerMqtt, ledgerHttp, collectorMqtt] = await Promise.all([freePort(), freePort(), freePort()]);
  const ledgerConfig = { dataDir: L, mqtt: { port: ledgerMqtt }, http: { port: ledgerHttp }, checkpointIntervalMs: 50, maxMergeDelayMs: 5000 };
  const silent = pino({ level: 'silent' });
  const agentErrors: string[] = [];
  const agentLog = pino({ level: 'error' }, { write: (l: string) => void agentErrors.push(l) });

  let ledger = await startLedger(ledgerConfig, { log: silent });
  const link = createInProcessLink();
  const sim = await startSimulator({ seed: 5 }, { log: silent, stream: link.serverStream });
  const A = join(dir, 'agent');
  const agent = await startAgent(
    { dataDir: A, meterId: 'M-1', customerAccount: 'ACC-1', intervalMs: 100, requestTimeoutMs: 2000,
      ledger: { url: `mqtt://127.0.0.1:${ledgerMqtt}` }, collector: { url: `mqtt://127.0.0.1:${collectorMqtt}` } }, // no collector: not needed here
    { log: agentLog, port: link.clientPort },
  );
  t.teardown(async () => {
    await agent.close();
    await ledger.close();
    await sim.close();
    link.close();
  });
  await agent.enrolled;

  await waitUntil('3 readings anchored', () => agent.stats().outbox.ledgerAcked >= 3, 30_000);
  await agent.stopReadings();
  await waitUntil('every reading anchored', () => agent.stats().outbox.ledgerAcked === agent.stats().outbox.readings, 30_000);
  const first = agent.stats().outbox.readings;
  await waitUntil('every promise fulfilled by a receipt', () => agent.stats().promises.fulfilled === first, 30_000);
  t.match(agent.stats(), { brokenPromises: 0, promises: { held: 0, fulfilled: first, badPromises: 0 } });

  // A new reading gets a promise (deadline 5 s); before the deadline the log is truncated: the same ledger key
  // and ports, an empty database.
  await ledger.close();
  ledger = await startLedger(ledgerConfig, { log: silent });
  const before = agent.stats().outbox.readings;
  const seq = await agent.readNow();
  await waitUntil('the new reading anchored', () => agent.stats().outbox.ledgerAcked === before + 1, 30_000);
  t.equal(agent.stats().promises.held, 1, 'its promise is held until its deadline');
  await ledger.close();
  rmSync(join(L, 'ledger.sqlite'));
  rmSync(join(L, 'ledger.sqlite-wal'), { force: true });
  rmSync(join(L, 'ledger.sqlite-shm'), { force: true });
  ledger = await startLedger(ledgerConfig, { log: silent });
  t.equal(ledger.stats().treeSize, 0, 'the ledger forgot everything');

  await waitUntil('the broken promise is detected', () => agent.stats().brokenPromises === 1, 30_000);
  t.ok(agentErrors.some((l) => l.includes('BROKEN PROMISE') && l.includes('NOT_ANCHORED')), 'logged at error with the reason');
  const evidence = readdirSync(join(A, 'evidence'));
  t.same(evidence.sort(), [`broken-promise-M-1-${seq}.json`, `broken-promise-M-1-${seq}.promise`]);
  const promise = openInclusionPromise(new Uint8Array(readFileSync(join(A, 'evidence', `broken-promise-M-1-${seq}.promise`))), ledger.publicKey);
  t.equal(promise.seq, seq, 'the evidence is a promise signed by the ledger key, for that seq');
  const note = JSON.parse(readFileSync(join(A, 'evidence', `broken-promise-M-1-${seq}.json`), 'utf8')) as { promise: string };
  t.same(fromHex(note.promise), new Uint8Array(readFileSync(join(A, 'evidence', `broken-promise-M-1-${seq}.promise`))));
  t.ok(existsSync(join(L, 'ledger.key')));
  t.equal(agent.stats().promises.fulfilled, first, 'the earlier promises stay fulfilled');
});
