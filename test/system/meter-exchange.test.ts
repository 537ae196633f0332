// Issue 4 items 6-8 end to end: the agent signs the meter's own identity into every reading (the collector
// stores it as a column), pins it, and when another meter appears on the same line it signs nothing until an
// operator clears the pin. Real ledger, real collector (SQLite), real Modbus simulator on the in-process link.
import t from 'tap';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import Database from 'better-sqlite3';
import { startLedger } from '@meterseal/ledger-service';
import { startCollector } from '@meterseal/collector-system';
import { decodeReading } from '@meterseal/protocol';
import { ModbusMeterReader, startAgent } from '@meterseal/device';
import { loadProfile, parseProfile } from '@meterseal/hardware';
import { createInProcessLink, startSimulator } from '@meterseal/simulator';
import { freePort, waitUntil } from './harness.js';

const log = pino({ level: 'silent' });

t.test('meter identity is signed and stored; a swapped meter stops signing until the operator clears the pin', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-exchange-'));
  const L = join(dir, 'ledger');
  mkdirSync(L, { recursive: true });
  writeFileSync(join(L, 'whitelist.json'), JSON.stringify({ meters: [{ meterId: 'M-X', customerAccount: 'ACC-X' }] }));
  const [ledgerMqtt, ledgerHttp, collectorMqtt] = await Promise.all([freePort(), freePort(), freePort()]);
  const ledger = await startLedger({ dataDir: L, mqtt: { port: ledgerMqtt }, http: { port: ledgerHttp } }, { log });
  const collector = await startCollector({ dataDir: join(dir, 'collector'), mqtt: { port: collectorMqtt }, trust: { ledgerKeyDir: L } }, { log });

  // A DDSU666 map with a serial-number register (the shipped profile has none: see its notes).
  const base = loadProfile('chint-ddsu666');
  const profile = parseProfile({
    ...base,
    registers: [...base.registers, { name: 'serial_number', quantity: 'serial_number', obis: '0.0.96.1.0.255', address: 0x4100, functionCode: 3, type: 'uint32', sourceUnit: 'number', sourceScaler: 0, unit: '1', scaler: 0 }],
  });
  const link = createInProcessLink();
  let sim = await startSimulator({ seed: 5, serialNumber: 24110042 }, { log, stream: link.serverStream, profile });
  const source = new ModbusMeterReader({ port: link.clientPort, profile, unitId: 1, timeoutMs: 2000 });
  const agentDir = join(dir, 'agent');
  const agent = await startAgent(
    { dataDir: agentDir, meterId: 'M-X', customerAccount: 'ACC-X', intervalMs: 3_600_000, requestTimeoutMs: 2000,
      ledger: { url: `mqtt://127.0.0.1:${ledgerMqtt}` }, collector: { url: `mqtt://127.0.0.1:${collectorMqtt}` } },
    { log, source },
  );
  t.teardown(async () => {
    await agent.close();
    await collector.close();
    await ledger.close();
    await sim.close();
    link.close();
  });
  await agent.enrolled;

  const seq1 = await agent.readNow();
  t.match(JSON.parse(readFileSync(join(agentDir, 'meter-identity.json'), 'utf8')), { identity: '24110042', source: 'first-read' }, 'pinned from the first read');
  t.match(agent.stats().meterPin, { identity: '24110042' });

  // The meter is swapped: same line, same unit id, another serial number.
  await sim.close();
  sim = await startSimulator({ seed: 6, serialNumber: 24119999 }, { log, stream: link.serverStream, profile });
  const queued = agent.stats().outbox.readings;
  await t.rejects(agent.readNow(), { code: 'METER_EXCHANGED', message: /expected meter "24110042", found "24119999"/ });
  await t.rejects(agent.readNow(), { code: 'METER_EXCHANGED' }, 'and again: it does not resume by itself');
  t.equal(agent.stats().outbox.readings, queued, 'nothing was signed or queued');
  t.match(agent.stats().meterExchange, { expected: '24110042', found: '24119999' });
  t.equal(agent.stats().readErrors, 0, 'an exchange is not a read error');

  t.match(agent.clearMeterPin('meter replaced, work order 42'), { cleared: { identity: '24110042' } });
  t.equal(agent.stats().meterExchange, null);
  const seq2 = await agent.readNow();
  t.ok(seq2 > seq1, 'signing resumed');
  t.match(agent.stats().meterPin, { identity: '24119999', source: 'operator' });

  await agent.stopReadings();
  await waitUntil('both readings collected', () => collector.stats().collected >= 2, 30_000);
  const db = new Database(join(dir, 'collector', 'collector.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  const rows = db.prepare(`SELECT seq, reading FROM readings WHERE meter_id = 'M-X' ORDER BY seq`).all() as Array<{ seq: string; reading: Buffer }>;
  const stored = rows.map((r) => ({ seq: BigInt(r.seq), bytes: new Uint8Array(r.reading) }));
  t.same(stored.map((r) => [r.seq, r.bytes[1], decodeReading(r.bytes).meterIdentity]), [[seq1, 2, '24110042'], [seq2, 2, '24119999']],
    'each reading carries the identity of the meter it came from, signed (v2) and stored in the reading bytes');
});
