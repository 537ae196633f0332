// MQTT 5 against an external broker (mosquitto speaks MQTT 5; the embedded aedes does not): the collector
// connects with protocolVersion 5, a meter asks for answers on its own Response Topic with Correlation
// Data (MQTT 5.0 §4.10), a foreign Response Topic is ignored, and an MQTT 3.1.1 meter on the same broker
// still gets op/ref answers. Skipped when no mosquitto binary is installed.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { toHex } from '@meterseal/protocol';
import { deliver, makeLedgerKey, makeMeter, makeReading } from './testing/fixtures.js';
import { connectMeter, freePort, startTestCollector, tempDir } from './testing/harness.js';

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) => spawnSync(p, ['-h']).error === undefined);

async function untilListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection({ port, host: '127.0.0.1' }, () => (c.end(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
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

  const key = makeLedgerKey();
  const { collector } = await startTestCollector(t, key, { mqtt: { url: `mqtt://127.0.0.1:${port}` } });
  t.equal(collector.mqttUrl, `mqtt://127.0.0.1:${port}`);

  const meter = makeMeter('M-5', key);
  const own = 'meterseal/v1/meter/M-5/agent-1/response';
  const m5 = await connectMeter(t, collector.mqttUrl, 'M-5', { protocolVersion: 5, responseTopic: own });
  t.match(await m5.announce(meter.announcement, toHex(meter.keyId)), { op: 'keys', ok: true });
  t.match(await m5.deliver(1n, deliver(meter, makeReading('M-5', 1n)).payload), { op: 'delivery', ref: '1', ok: true, duplicate: false });
  t.ok(m5.received.every((r) => r.topic === own && r.correlation !== null), 'answered on the Response Topic with Correlation Data');

  const m4meter = makeMeter('M-4', key);
  const m4 = await connectMeter(t, collector.mqttUrl, 'M-4');
  t.match(await m4.announce(m4meter.announcement, toHex(m4meter.keyId)), { ok: true });
  t.match(await m4.deliver(1n, deliver(m4meter, makeReading('M-4', 1n)).payload), { op: 'delivery', ref: '1', ok: true }, 'an MQTT 3.1.1 meter on the same broker');
  t.match(collector.stats(), { collected: 2, keys: 2 });
});
