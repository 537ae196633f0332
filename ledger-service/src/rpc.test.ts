// The request/response router without a broker: MQTT 5 addressing (which the embedded aedes cannot carry),
// the op/ref convention, and what happens when there is no one to answer.
import t, { type Test } from 'tap';
import pino from 'pino';
import { LedgerTopics, ResponseBody, responseTopic } from '@meterseal/protocol';
import { parseLedgerConfig } from './config.js';
import { openLedgerCore } from './core.js';
import type { RejectionCode } from './errors.js';
import { RpcRouter, acceptableResponseTopic, type OutboundMessage } from './rpc.js';
import { tempDir, writeWhitelist } from './testing/harness.js';

function setup(t: Test) {
  const dataDir = tempDir(t);
  writeWhitelist(dataDir, [{ meterId: 'M-1', customerAccount: 'A-1' }]);
  const core = openLedgerCore(parseLedgerConfig({ dataDir }), pino({ level: 'silent' }));
  t.teardown(() => core.close());
  const sent: OutboundMessage[] = [];
  const rejected: RejectionCode[] = [];
  const router = new RpcRouter(core.deps, async (m) => void sent.push(m), (c) => rejected.push(c), () => 1_800_000_000_000);
  return { core, router, sent, rejected };
}

const challenge = (meterId: string) => new TextEncoder().encode(JSON.stringify({ meterId }));

t.test('MQTT 5: the answer goes to the Response Topic with the Correlation Data echoed', async (t) => {
  const { router, sent } = setup(t);
  const corr = new Uint8Array([1, 2, 3, 4]);
  const rt = 'meterseal/v1/meter/M-1/client-7/response';
  await router.dispatch({ topic: LedgerTopics.challenge, payload: challenge('M-1'), responseTopic: rt, correlationData: corr });
  t.equal(sent.length, 1);
  t.equal(sent[0]!.topic, rt);
  t.same(sent[0]!.correlationData, corr);
  const body = JSON.parse(sent[0]!.payload);
  t.ok(ResponseBody.safeParse(body).success);
  t.match(body, { op: 'challenge', ref: 'challenge', ok: false, error: { code: 'UNKNOWN_METER' } });
});

t.test('MQTT 3.1.1: the answer goes to the meter named in the request', async (t) => {
  const { router, sent } = setup(t);
  await router.dispatch({ topic: LedgerTopics.challenge, payload: challenge('M-1') });
  t.same(sent.map((m) => [m.topic, m.correlationData]), [[responseTopic('M-1'), undefined]]);
});

t.test('a Response Topic outside meterseal/v1/meter/ is not used', async (t) => {
  const { router, sent } = setup(t);
  for (const rt of [LedgerTopics.register, 'meterseal/v1/meter/+/x', 'elsewhere', `meterseal/v1/meter/${'x'.repeat(600)}`]) {
    t.notOk(acceptableResponseTopic(rt), rt.slice(0, 40));
    await router.dispatch({ topic: LedgerTopics.challenge, payload: challenge('M-1'), responseTopic: rt, correlationData: new Uint8Array(1) });
  }
  t.same(sent.map((m) => m.topic), Array(4).fill(responseTopic('M-1')), 'the default address instead');
});

t.test('nothing to address: counted, logged, dropped', async (t) => {
  const { router, sent, rejected } = setup(t);
  await router.dispatch({ topic: LedgerTopics.register, payload: new Uint8Array([0xff]) });
  await router.dispatch({ topic: 'meterseal/v1/ledger/unknown', payload: new Uint8Array(1) });
  t.same(sent, []);
  t.same(rejected, ['MALFORMED'], 'only the request on a request topic counts');
});

t.test('a fault inside a handler is INTERNAL, and the router carries on', async (t) => {
  const { router, sent, rejected, core } = setup(t);
  const getMeter = core.deps.store.getMeter.bind(core.deps.store);
  core.deps.store.getMeter = () => {
    throw new Error('disk on fire');
  };
  await router.dispatch({ topic: LedgerTopics.challenge, payload: challenge('M-1') });
  core.deps.store.getMeter = getMeter;
  await router.dispatch({ topic: LedgerTopics.challenge, payload: challenge('M-1') });
  t.match(JSON.parse(sent[0]!.payload), { ok: false, error: { code: 'INTERNAL', message: 'internal error' } });
  t.notMatch(sent[0]!.payload, /disk on fire/, 'no internals leak to the meter');
  t.match(JSON.parse(sent[1]!.payload), { ok: false, error: { code: 'UNKNOWN_METER' } });
  t.same(rejected, ['INTERNAL', 'UNKNOWN_METER']);
});
