// Authentication and session-key binding, end to end over the embedded broker.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import {
  ChallengeResponse, decodeAuthResult, decodeKeyBinding, encodeAuthResponse, encodeSigned, generateKeyPair, keyId,
  LedgerTopics, recordTypeOf, signRecord, splitSigned,
} from '@meterseal/protocol';
import { openSqliteStore } from './sqlite-store.js';
import { ManualClock, startTestLedger } from './testing/harness.js';

const M1 = { meterId: 'M-1', customerAccount: 'A-1' };
const M2 = { meterId: 'M-2', customerAccount: 'A-2' };

async function setup(t: Test) {
  const clock = new ManualClock();
  const tl = await startTestLedger(t, { meters: [M1, M2], now: clock.now, config: { challengeTtlMs: 30_000, bindWindowMs: 300_000 } });
  const store = openSqliteStore(join(tl.dataDir, 'ledger.sqlite'), { readonly: true });
  t.teardown(() => store.close());
  const authEntries = () => {
    const out = [];
    for (let i = 0n; i < store.treeSize(); i++) {
      const e = store.getEntry(i)!;
      if (recordTypeOf(e) === 'AuthResult') out.push(decodeAuthResult(e));
    }
    return out.map((a) => `${a.meterId} ${a.passed ? 'pass' : 'fail'} ${a.reason}`);
  };
  return { ...tl, clock, store, authEntries };
}

t.test('auth pass and auth fail both become AuthResult log entries', async (t) => {
  const { ledger, meter, authEntries, clock } = await setup(t);
  const m = await meter(M1);
  t.match(await m.register(), { ok: true });

  const c = await m.challenge();
  t.ok(ChallengeResponse.safeParse(c).success, 'a protocol ChallengeResponse');
  t.equal(c.expiresAt, new Date(clock.ms + 30_000).toISOString());
  t.match(await m.answer(c.nonce as string), { op: 'auth', ref: 'auth', ok: true, passed: true, reason: 'ok' });

  const c2 = await m.challenge();
  const wrongKey = generateKeyPair().secretKey;
  const fail = await m.answer(c2.nonce as string, wrongKey);
  t.match(fail, { ok: false, error: { code: 'AUTH_FAILED', message: /bad-signature/ }, passed: false, reason: 'bad-signature' });
  t.match(await m.answer(c2.nonce as string), { ok: true }, 'a bad signature does not use up the nonce');
  t.match(await m.answer(c2.nonce as string), { ok: false, reason: 'unknown-nonce' }, 'but a valid answer does: single use');

  const c3 = await m.challenge();
  clock.advance(30_001);
  t.match(await m.answer(c3.nonce as string), { ok: false, reason: 'expired-challenge' });

  const stranger = await meter({ meterId: 'UNREG-1', customerAccount: 'x' });
  t.match(await stranger.challenge(), { ok: false, error: { code: 'UNKNOWN_METER' } }, 'no challenge for an unregistered meter');
  t.match(await stranger.answer('00'.repeat(32)), { ok: false, error: { code: 'AUTH_FAILED' }, reason: 'unknown-meter' });

  t.same(authEntries(), [
    'M-1 pass ok',
    'M-1 fail bad-signature',
    'M-1 pass ok',
    'M-1 fail unknown-nonce',
    'M-1 fail expired-challenge',
    'UNREG-1 fail unknown-meter',
  ]);
  t.match(ledger.stats(), { authPassed: 2, authFailed: 4, rejected: { AUTH_FAILED: 4, UNKNOWN_METER: 1 } });
});

t.test('binding requires a prior, unused, recent authentication', async (t) => {
  const { meter, clock, store } = await setup(t);
  const m = await meter(M1);
  await m.register();
  t.match(await m.bind(1n), { op: 'bind', ref: 'bind', ok: false, error: { code: 'NOT_AUTHENTICATED' } });

  await m.authenticate();
  const session = generateKeyPair();
  const signed = m.signedBinding(session, 1n);
  const b = await m.bind(1n, session, signed);
  t.match(b, { ok: true, duplicate: false });
  const entry = store.getEntry(BigInt(b.leafIndex as string))!;
  t.same(entry, signed, 'the signed binding is the log entry');
  t.same(decodeKeyBinding(splitSigned(entry).record).sessionPublicKey, session.publicKey);
  t.match(await m.bind(1n, session, signed), { ok: true, duplicate: true, leafIndex: b.leafIndex }, 'a resend maps to the same leaf');
  t.match(await m.bind(2n, session), { ok: false, error: { code: 'CONFLICT' } }, 'another binding of the same session key');
  t.match(await m.bind(5n), { ok: false, error: { code: 'NOT_AUTHENTICATED' } }, 'one authentication, one binding');

  await m.authenticate();
  t.match(await m.bind(0n), { ok: false, error: { code: 'BAD_FIRST_SEQ', message: /not be less than 1/ } }, 'firstSeq may not go back');
  clock.advance(300_001);
  t.match(await m.bind(5n), { ok: false, error: { code: 'NOT_AUTHENTICATED' } }, 'the bind window has passed');
  await m.authenticate();
  t.match(await m.bind(5n), { ok: true });
  t.equal(m.session?.firstSeq, 5n);
});

t.test('binding: the identity key must sign it and name itself; the session key must be acceptable', async (t) => {
  const { meter, ledger } = await setup(t);
  const m = await meter(M2);
  await m.register();
  await m.authenticate();
  t.match(await m.bind(1n, generateKeyPair(), m.signedBinding(generateKeyPair(), 1n, generateKeyPair().secretKey)), {
    ok: false, error: { code: 'BAD_SIGNATURE' },
  });
  const smallOrder = { secretKey: m.identity.secretKey, publicKey: new Uint8Array(32).fill(0).map((_, i) => (i === 0 ? 1 : 0)) };
  t.match(await m.bind(1n, smallOrder), { ok: false, error: { code: 'BAD_KEY' } }, 'the identity point of small order');
  t.match(await m.bind(1n, m.identity), { ok: false, error: { code: 'BAD_KEY', message: /must not be the identity key/ } });
  t.match(await m.bind(1n), { ok: true }, 'the refusals did not use up the authentication');
  t.equal(keyId(m.session!.keys.publicKey).length, 8);
  t.match(ledger.stats().rejected, { BAD_SIGNATURE: 1, BAD_KEY: 2 });

  // Over MQTT 3.1.1 an answer goes to the meter the request names (docs/protocol.md §9), not to its sender.
  const victim = await meter(M1);
  const rec = encodeAuthResponse({ meterId: 'M-1', nonce: new Uint8Array(32), timeMs: 0n });
  await m.publishRaw(LedgerTopics.auth, encodeSigned(rec, signRecord(rec, m.identity.secretKey)));
  await victim.challenge(); // answered after the auth above: answers are published in order
  t.match(victim.unmatched, [{ op: 'auth', ok: false, reason: 'unknown-meter' }], "M-1's response topic got the answer");
  t.same(m.unmatched, [], 'the sender got nothing');
});
