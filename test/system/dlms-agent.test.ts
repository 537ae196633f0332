// Issue 4: the agent reads a DLMS/COSEM meter (serial.protocol "dlms", HLS-GMAC) — the simulator on one end
// of a real socat pty pair, the agent's reader on the other — and anchors what it read at the ledger.
import t from 'tap';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startLedger } from '@meterseal/ledger-service';
import { startAgent } from '@meterseal/device';
import { createPtyPair, socatAvailable, startDlmsSimulator } from '@meterseal/simulator';
import { freePort, waitUntil } from './harness.js';

const log = pino({ level: 'silent' });
const hasSocat = await socatAvailable();

t.test('agent with serial.protocol "dlms" (HLS) reads the simulator over a pty and anchors the readings', hasSocat ? {} : { skip: 'socat not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-dlms-agent-'));
  const L = join(dir, 'ledger');
  mkdirSync(L, { recursive: true });
  writeFileSync(join(L, 'whitelist.json'), JSON.stringify({ meters: [{ meterId: 'M-DLMS', customerAccount: 'ACC-1' }] }));
  const [ledgerMqtt, ledgerHttp, collectorMqtt] = await Promise.all([freePort(), freePort(), freePort()]);
  const ledger = await startLedger({ dataDir: L, mqtt: { port: ledgerMqtt }, http: { port: ledgerHttp } }, { log });
  t.teardown(() => ledger.close());
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const sim = await startDlmsSimulator({ path: pair.a, auth: 'hls', initialEnergyWh: 5000 }, { log });
  t.teardown(() => sim.close());
  const agentDir = join(dir, 'agent');
  const agent = await startAgent(
    {
      dataDir: agentDir, meterId: 'M-DLMS', customerAccount: 'ACC-1', intervalMs: 300, requestTimeoutMs: 2000,
      serial: {
        protocol: 'dlms', path: pair.b, timeoutMs: 2000,
        dlms: { clientAddress: 48, auth: 'hls', authenticationKey: 'D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF', encryptionKey: '000102030405060708090A0B0C0D0E0F', systemTitle: '4D45540000000007', invocationCounterStart: 100 },
      },
      ledger: { url: `mqtt://127.0.0.1:${ledgerMqtt}` }, collector: { url: `mqtt://127.0.0.1:${collectorMqtt}` },
    },
    { log },
  );
  t.teardown(() => agent.close());
  await agent.enrolled;
  await waitUntil('3 DLMS readings anchored', () => ledger.stats().anchored >= 3, 60_000);
  await agent.stopReadings();
  const s = agent.stats();
  t.equal(s.readErrors, 0, 'no failed reads');
  t.ok(s.readsTaken >= 3);
  const st = sim.stats();
  t.ok(st.associations >= s.readsTaken, `one HLS association per reading (${st.associations})`);
  t.equal(st.authFailures, 0);
  const counterFile = join(agentDir, 'dlms-invocation-counter');
  t.ok(existsSync(counterFile), 'the invocation counter is kept in the data dir');
  t.ok(BigInt(readFileSync(counterFile, 'utf8').trim()) >= 100n + BigInt(s.readsTaken), 'and moved on with every association');
});
