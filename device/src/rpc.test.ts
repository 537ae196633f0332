// The agent's request/response client speaks MQTT 5 where the broker does (mosquitto) and falls back to
// 3.1.1 where it does not (the embedded aedes), with the same op/ref matching (docs/protocol.md §9).
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, connect, type AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import pino from 'pino';
import { RpcClient } from './rpc.js';

const log = pino({ level: 'silent' });
const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => spawnSync(p, ['-h']).error === undefined);

/** A server that answers every request on `req/#`: on the MQTT 5 response topic if given, else the meter's. */
async function responder(url: string, version: 4 | 5, seen: { responseTopic?: string; correlation?: string }[]) {
  const c = await mqtt.connectAsync(url, { protocolVersion: version });
  await c.subscribeAsync('req/#', { qos: 1 });
  c.on('message', (topic, payload, packet) => {
    const [, op, ref] = topic.split('/');
    const props = packet.properties;
    seen.push({ responseTopic: props?.responseTopic, correlation: props?.correlationData?.toString() });
    const body = JSON.stringify({ op, ref, ok: true, echo: payload.toString() });
    const to = props?.responseTopic ?? 'meterseal/v1/meter/M-1/response';
    void c.publishAsync(to, body, { qos: 1, ...(props?.correlationData ? { properties: { correlationData: props.correlationData } } : {}) });
  });
  return c;
}

t.test('against a 3.1.1-only broker (aedes) the client falls back and still gets its answers', async (t) => {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const seen: { responseTopic?: string }[] = [];
  const srv = await responder(url, 4, seen);
  const rpc = new RpcClient('ledger', url, 'M-1', log, 3000);
  t.teardown(async () => {
    await rpc.close();
    await srv.endAsync(true);
    await new Promise<void>((r) => broker.close(() => r()));
    server.close();
  });
  await rpc.waitConnected(5000);
  t.equal(rpc.protocolVersion, 4, 'fell back to MQTT 3.1.1');
  const body = await rpc.request('anchor', '7', 'req/anchor/7', new TextEncoder().encode('hello'));
  t.same({ ok: body.ok, op: body.op, ref: body.ref }, { ok: true, op: 'anchor', ref: '7' });
  t.equal(seen[0]?.responseTopic, undefined, 'no MQTT 5 properties on a 3.1.1 connection');
});

t.test('against an MQTT 5 broker (mosquitto) the request carries Response Topic and Correlation Data', { skip: MOSQUITTO ? false : 'mosquitto is not installed (apt-get install mosquitto)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rpc-mosq-'));
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const mosq = spawn(MOSQUITTO!, ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
  t.teardown(() => void mosq.kill('SIGKILL'));
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const c = connect(port, '127.0.0.1', () => (c.end(), r(true)));
      c.on('error', () => r(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `mqtt://127.0.0.1:${port}`;
  const seen: { responseTopic?: string; correlation?: string }[] = [];
  const srv = await responder(url, 5, seen);
  const rpc = new RpcClient('collector', url, 'M-1', log, 3000);
  t.teardown(async () => {
    await rpc.close();
    await srv.endAsync(true);
  });
  await rpc.waitConnected(5000);
  t.equal(rpc.protocolVersion, 5, 'speaks MQTT 5');
  const body = await rpc.request('delivery', '9', 'req/delivery/9', new Uint8Array([1]));
  t.same({ ok: body.ok, op: body.op, ref: body.ref }, { ok: true, op: 'delivery', ref: '9' });
  t.same(seen[0], { responseTopic: 'meterseal/v1/meter/M-1/response', correlation: 'delivery:9' }, 'MQTT 5.0 §4.10 request properties');
});
