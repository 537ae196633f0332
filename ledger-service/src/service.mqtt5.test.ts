// MQTT 5 end to end against an external broker (mosquitto, which speaks MQTT 5; aedes does not): the
// ledger connects with protocolVersion 5, a meter asks for its answers on its own Response Topic with
// Correlation Data, and a MQTT 3.1.1 meter on the same broker still gets op/ref answers. Skipped when
// no mosquitto binary is installed (e.g. `apt-get install mosquitto`).
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, createConnection, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { LedgerTopics } from '@meterseal/protocol';
import { startTestLedger, tempDir, writeWhitelist } from './testing/harness.js';

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find(
  (p) => spawnSync(p, ['-h']).error === undefined,
);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function untilListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = createConnection({ port, host: '127.0.0.1' }, () => (c.end(), r(true)));
      c.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on ${port}`);
}

t.test('MQTT 5 request/response through mosquitto', { skip: MOSQUITTO ? false : 'no mosquitto binary installed' }, async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const broker = spawn(MOSQUITTO!, ['-c', conf], { stdio: 'ignore' });
  t.teardown(() => void broker.kill());
  await untilListening(port);

  writeWhitelist(dir, [{ meterId: 'M-5', customerAccount: 'A-5' }, { meterId: 'M-4', customerAccount: 'A-4' }]);
  const { ledger, meter } = await startTestLedger(t, { dataDir: dir, config: { mqtt: { url: `mqtt://127.0.0.1:${port}` } } });
  t.equal(ledger.config.mqtt.embedded, false);
  t.equal(ledger.mqttUrl, `mqtt://127.0.0.1:${port}`);

  const own = 'meterseal/v1/meter/M-5/agent-1/response';
  const m5 = await meter({ meterId: 'M-5', customerAccount: 'A-5', protocolVersion: 5, responseTopic: own });
  t.match(await m5.register(), { op: 'register', ok: true }, 'answered on the Response Topic, matched by Correlation Data');
  await m5.onboard(1n);
  const a = await m5.anchor(1n);
  t.match(a.response, { ok: true, seq: '1', duplicate: false });
  t.match((await m5.anchor(1n, undefined, a.signed)).response, { ok: true, duplicate: true });
  t.match(await m5.request(LedgerTopics.anchor('M-5'), new Uint8Array(3), 'anchor', 'x'), { ok: false, error: { code: 'MALFORMED' } });

  const m4 = await meter({ meterId: 'M-4', customerAccount: 'A-4', protocolVersion: 4 });
  await m4.onboard(1n);
  t.match((await m4.anchor(1n)).response, { op: 'anchor', ref: '1', ok: true }, 'an MQTT 3.1.1 meter on the same broker');
  t.match(ledger.stats(), { anchored: 2, registrations: 2 });
});
