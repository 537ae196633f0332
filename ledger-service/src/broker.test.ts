// The embedded aedes broker: what MQTT it speaks (3.1.1 only — the reason docs/protocol.md §9 addresses
// responses by op/ref) and its coarse access rules.
import t, { type Test } from 'tap';
import mqtt from 'mqtt';
import pino from 'pino';
import { LedgerTopics, responseTopic } from '@meterseal/protocol';
import { LEDGER_USERNAME, startEmbeddedBroker, type EmbeddedBroker } from './broker.js';

const log = pino({ level: 'silent' });

async function broker(t: Test): Promise<EmbeddedBroker> {
  const b = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, log });
  t.teardown(() => b.close());
  return b;
}

function connect(t: Test, url: string, o: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3000, ...o }, false).then((c) => {
    t.teardown(() => c.endAsync(true));
    return c;
  });
}

t.test('aedes 1.x refuses MQTT 5: CONNACK "unacceptable protocol version"', async (t) => {
  const b = await broker(t);
  const err = await mqtt.connectAsync(b.url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3000 }, false).then(
    (c) => {
      void c.endAsync(true);
      return undefined;
    },
    (e: Error & { code?: number }) => e,
  );
  t.ok(err, 'an MQTT 5 CONNECT is refused');
  t.match(err?.message, /Unacceptable protocol version/i);
  t.equal(err?.code, 1, 'return code 1 (MQTT 3.1.1 §3.2.2.3)');
});

t.test('MQTT 3.1.1 works; its messages carry no MQTT 5 properties', async (t) => {
  const b = await broker(t);
  const c = await connect(t, b.url, { protocolVersion: 4 });
  const topic = responseTopic('M-1');
  const ledger = await connect(t, b.url, { protocolVersion: 4, ...b.credentials });
  await c.subscribeAsync(topic, { qos: 1 });
  const got = new Promise<mqtt.IPublishPacket>((r) => c.once('message', (_t, _p, pkt) => r(pkt)));
  await ledger.publishAsync(topic, 'hi', { qos: 1 });
  const pkt = await got;
  t.equal(pkt.payload.toString(), 'hi');
  t.equal(pkt.properties, undefined, 'no Response Topic or Correlation Data on 3.1.1');
});

t.test('only the ledger subscribes to requests and publishes responses', async (t) => {
  const b = await broker(t);
  const meter = await connect(t, b.url);
  const sub = (topic: string) => meter.subscribeAsync(topic, { qos: 1 }).then((g) => `granted ${g[0]?.qos}`, () => 'refused');
  t.equal(await sub(LedgerTopics.register), 'refused', 'a request topic (registrations carry the customer account)');
  t.equal(await sub(LedgerTopics.anchorFilter), 'refused');
  t.equal(await sub('#'), 'refused');
  t.equal(await sub(responseTopic('M-1')), 'granted 1', 'response topics are allowed');

  const ledger = await connect(t, b.url, b.credentials);
  const lg = await ledger.subscribeAsync(LedgerTopics.register, { qos: 1 });
  t.equal(lg[0]?.qos, 1);

  const closed = new Promise<void>((r) => meter.once('close', () => r()));
  meter.publish(responseTopic('M-1'), JSON.stringify({ op: 'register', ref: 'register', ok: true }), { qos: 1 });
  await closed;
  t.pass('a meter publishing a forged response is disconnected');

  const impostor = await mqtt
    .connectAsync(b.url, { username: LEDGER_USERNAME, password: 'guess', reconnectPeriod: 0, connectTimeout: 3000 }, false)
    .then((c) => (void c.endAsync(true), 'connected'), (e: Error) => e.message);
  t.match(impostor, /Bad username or password/i, 'a client claiming to be the ledger without its secret is refused');
});
