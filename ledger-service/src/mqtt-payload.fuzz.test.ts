// Fuzzing the ledger's MQTT request path (issue 8 item 2) without a broker: RpcRouter.dispatch over a real
// ledger core (SQLite in a temp dir) with random topics and random or mutated payloads — registration
// requests, challenge and receipt JSON, auth responses, key bindings, anchors and gap records (docs/protocol.md
// §5–§12). Every request gets a typed answer: a valid ResponseBody, ok or an error with a rejection code,
// and never INTERNAL (what an untyped exception inside a handler becomes).
import t from 'tap';
import fc from 'fast-check';
import pino from 'pino';
import {
  encodeAnchor, encodeAuthResponse, encodeGap, encodeKeyBinding, encodeRegistrationRequest, encodeSigned, fuzzParams, gapTopic,
  generateKeyPair, keyId, LedgerTopics, mutateBytes, ResponseBody, signRecord,
} from '@meterseal/protocol';
import { parseLedgerConfig } from './config.js';
import { openLedgerCore } from './core.js';
import type { RejectionCode } from './errors.js';
import { RpcRouter, type OutboundMessage } from './rpc.js';
import { tempDir, writeWhitelist } from './testing/harness.js';

const T0 = 1_800_000_000_000;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

t.test('RpcRouter: any topic and payload gets a typed answer, never INTERNAL', async (t) => {
  const dataDir = tempDir(t);
  writeWhitelist(dataDir, [{ meterId: 'M-1', customerAccount: 'A-1' }, { meterId: 'M-2', customerAccount: 'A-2' }]);
  const core = openLedgerCore(parseLedgerConfig({ dataDir }), pino({ level: 'silent' }));
  t.teardown(() => core.close());
  const sent: OutboundMessage[] = [];
  const rejected: RejectionCode[] = [];
  const router = new RpcRouter(core.deps, async (m) => void sent.push(m), (c) => rejected.push(c), () => T0);

  const identity = generateKeyPair();
  const session = generateKeyPair();
  const signed = (record: Uint8Array, key = identity.secretKey) => encodeSigned(record, signRecord(record, key));
  const registration = signed(encodeRegistrationRequest({ meterId: 'M-1', customerAccount: 'A-1', identityPublicKey: identity.publicKey, firmwareHash: new Uint8Array(32).fill(0xf1), timeMs: BigInt(T0) }));
  await router.dispatch({ topic: LedgerTopics.register, payload: registration });
  t.match(JSON.parse(sent.at(-1)!.payload), { op: 'register', ok: true }, 'the seed registration is accepted, so later requests reach deeper checks');

  const seeds: Array<[string, Uint8Array]> = [
    [LedgerTopics.register, registration],
    [LedgerTopics.challenge, enc(JSON.stringify({ meterId: 'M-1' }))],
    [LedgerTopics.receipt, enc(JSON.stringify({ meterId: 'M-1', seq: '1' }))],
    [LedgerTopics.auth, signed(encodeAuthResponse({ meterId: 'M-1', nonce: new Uint8Array(32), timeMs: BigInt(T0) }))],
    [LedgerTopics.bind, signed(encodeKeyBinding({ meterId: 'M-1', identityKeyId: keyId(identity.publicKey), sessionPublicKey: session.publicKey, firstSeq: 1n, createdAtMs: BigInt(T0) }))],
    [LedgerTopics.anchor('M-1'), signed(encodeAnchor({ meterId: 'M-1', seq: 1n, keyId: keyId(session.publicKey), readingHash: new Uint8Array(32).fill(7) }), session.secretKey)],
    [gapTopic('M-1'), signed(encodeGap({ meterId: 'M-1', firstSeq: 2n, lastSeq: 3n, fromMs: BigInt(T0 - 60_000), toMs: BigInt(T0), reason: 1, signer: '' }), session.secretKey)],
  ];
  const topic = fc.oneof(
    fc.constantFrom(...seeds.map(([tp]) => tp)),
    fc.constantFrom('M-2', 'M-9', '', 'a/b', '\u0000', 'x'.repeat(80)).map((id) => `${LedgerTopics.anchorPrefix}${id}`),
  );
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 400 }),
    fc.jsonValue({ maxDepth: 2 }).map((v) => enc(JSON.stringify(v))),
    fc.record({ meterId: fc.oneof(fc.constantFrom('M-1', 'M-2'), fc.string({ maxLength: 70 })), seq: fc.oneof(fc.string({ maxLength: 22 }), fc.bigInt({ min: -1n, max: 1n << 65n }).map(String), fc.integer()) }, { requiredKeys: [] }).map((v) => enc(JSON.stringify(v))),
    fc.tuple(fc.constantFrom(...seeds.map(([, p]) => p)), fc.nat(), fc.nat(), fc.nat(255)).map(([p, o, a, v]) => mutateBytes(p, o, a, v)),
  );
  const request = fc.oneof(fc.tuple(topic, payload), fc.constantFrom(...seeds).chain(([tp, p]) => fc.tuple(fc.constant(tp), fc.tuple(fc.nat(), fc.nat(), fc.nat(255)).map(([o, a, v]) => mutateBytes(p, o, a, v)))));

  await fc.assert(
    fc.asyncProperty(request, async ([tp, p]) => {
      sent.length = 0;
      rejected.length = 0;
      await router.dispatch({ topic: tp, payload: p, responseTopic: 'meterseal/v1/meter/fuzz/response' });
      if (rejected.includes('INTERNAL')) throw new Error(`INTERNAL for ${tp}: ${sent[0]?.payload}`);
      return sent.every((m) => {
        const body = ResponseBody.safeParse(JSON.parse(m.payload));
        return body.success;
      });
    }),
    fuzzParams(300),
  );
  t.pass('typed answers only');
});

t.test('regression (found by this fuzz test): a receipt request with a non-decimal seq is MALFORMED, not INTERNAL', async (t) => {
  const dataDir = tempDir(t);
  writeWhitelist(dataDir, [{ meterId: 'M-1', customerAccount: 'A-1' }]);
  const core = openLedgerCore(parseLedgerConfig({ dataDir }), pino({ level: 'silent' }));
  t.teardown(() => core.close());
  const sent: OutboundMessage[] = [];
  const router = new RpcRouter(core.deps, async (m) => void sent.push(m), () => undefined, () => T0);
  for (const seq of ['!', '-1', '1e3', '']) {
    await router.dispatch({ topic: LedgerTopics.receipt, payload: enc(JSON.stringify({ meterId: 'M-1', seq })) });
    t.match(JSON.parse(sent.at(-1)!.payload), { op: 'receipt', ok: false, error: { code: 'MALFORMED' } }, `seq ${JSON.stringify(seq)}`);
  }
});
