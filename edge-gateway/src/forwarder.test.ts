// The local broker's rules and the forwarder's request peeking, on hostile input.
import t from 'tap';
import fc from 'fast-check';
import mqtt from 'mqtt';
import pino from 'pino';
import { Aedes } from 'aedes';
import { createServer } from 'node:net';
import { meterOfRequest, startForwarder } from './forwarder.js';

const log = pino({ level: 'silent' });

t.test('meterOfRequest: from the topic, from a signed record, from challenge JSON; never throws', async (t) => {
  t.equal(meterOfRequest('meterseal/v1/ledger/anchor/M-1', Buffer.alloc(0)), 'M-1');
  t.equal(meterOfRequest('meterseal/v1/collector/reading/M-2', Buffer.alloc(0)), 'M-2');
  t.equal(meterOfRequest('meterseal/v1/ledger/challenge', Buffer.from('{"meterId":"M-3"}')), 'M-3');
  t.equal(meterOfRequest('meterseal/v1/ledger/register', Buffer.from([0x03, 0x01, 3, 0x4d, 0x2d, 0x34, 9, 9])), 'M-4');
  t.equal(meterOfRequest('meterseal/v1/ledger/challenge', Buffer.from('{"meterId":"../x"}')), undefined, 'not a meter id');
  t.equal(meterOfRequest('meterseal/v1/ledger/register', Buffer.from([0x03, 0x01, 200, 0x41])), undefined, 'length past the end');
  fc.assert(fc.property(fc.string(), fc.uint8Array({ maxLength: 80 }), (topic, bytes) => {
    const id = meterOfRequest(topic, Buffer.from(bytes));
    return id === undefined || /^[A-Za-z0-9._-]{1,64}$/.test(id);
  }), { numRuns: 2000 });
});

t.test('the local broker takes only request topics, serves only response topics, and forwards untouched', async (t) => {
  const upstream = await Aedes.createBroker();
  const got: { topic: string; payload: Buffer }[] = [];
  await new Promise<void>((r) => upstream.subscribe('meterseal/v1/#', (p, cb) => { got.push({ topic: p.topic, payload: Buffer.from(p.payload) }); cb(); }, r));
  const server = createServer(upstream.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const up = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
  t.teardown(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => upstream.close(() => r()));
  });
  const f = await startForwarder({ host: '127.0.0.1', port: 0, ledgerUrl: up, collectorUrl: up, maxQueued: 10, log });
  t.teardown(() => f.close());
  const c = await mqtt.connectAsync(f.url, { protocolVersion: 4, reconnectPeriod: 0 });
  t.teardown(() => c.endAsync(true));
  await t.rejects(c.subscribeAsync('meterseal/v1/ledger/#', { qos: 1 }), /Subscribe error/, 'a meter may not subscribe to request topics (SUBACK 0x80)');
  const bytes = Buffer.from([0x02, 0x01, 1, 2, 3, 0xff]);
  await c.publishAsync('meterseal/v1/ledger/anchor/FW-1', bytes, { qos: 1 });
  while (got.length < 1) await new Promise((r) => setTimeout(r, 20));
  t.same(got[0], { topic: 'meterseal/v1/ledger/anchor/FW-1', payload: bytes }, 'same topic, same bytes upstream');
  // answers come back on the meter's response topic
  const [ok] = await c.subscribeAsync('meterseal/v1/meter/FW-1/response', { qos: 1 });
  t.equal(ok!.qos, 1);
  const answer = new Promise<string>((r) => c.once('message', (_t, p) => r(p.toString())));
  upstream.publish({ cmd: 'publish', topic: 'meterseal/v1/meter/FW-1/response', payload: Buffer.from('{"op":"anchor"}'), qos: 1, dup: false, retain: false }, () => undefined);
  t.equal(await answer, '{"op":"anchor"}', 'the upstream answer reaches the meter');
  // publishing a fake answer into another meter's response topic is refused (aedes drops the client)
  const closed = new Promise<void>((r) => c.once('close', () => r()));
  c.publish('meterseal/v1/meter/FW-2/response', '{"op":"anchor","ok":true}', { qos: 1 });
  await closed;
  t.pass('a meter publishing outside the request topics is disconnected');
  t.equal(f.stats().refused, 1);
  t.equal(got.filter((g) => g.topic.startsWith('meterseal/v1/meter/FW-2')).length, 0, 'nothing of it went upstream');
});
