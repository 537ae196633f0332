// Failed authentications limited per source (issue 5): on the ledger's embedded broker each request is
// tagged with its MQTT client id and remote address; a client (or an address) with too many failures in a
// window is refused outright ("rate-limited") while the same meter from another client still gets in, so
// a stranger cannot lock a meter out. Per meter, failures past the threshold are summarised (auth-log.test.ts).
import t from 'tap';
import { generateKeyPair } from '@meterseal/protocol';
import { SourceFailureLimit } from './auth-log.js';
import { ManualClock, startTestLedger } from './testing/harness.js';

t.test('SourceFailureLimit: blocks at max failures, forgets after the window, bounded', async (t) => {
  const l = new SourceFailureLimit(2, 1000, 3);
  t.notOk(l.blocked('a', 0));
  l.fail('a', 0);
  t.notOk(l.blocked('a', 10));
  l.fail('a', 20);
  t.ok(l.blocked('a', 30), 'two failures: blocked');
  t.notOk(l.blocked('b', 30), 'another source is not');
  t.notOk(l.blocked('a', 1000), 'a new window');
  for (const k of ['a', 'b', 'c', 'd']) { l.fail(k, 2000); l.fail(k, 2000); }
  t.notOk(l.blocked('a', 2001), 'the oldest source was dropped to stay within maxKeys');
  t.ok(l.blocked('d', 2001));
});

t.test('a client with too many failures is refused; the meter from another client is not', async (t) => {
  const clock = new ManualClock();
  const { meter } = await startTestLedger(t, {
    meters: [{ meterId: 'M-1', customerAccount: 'ACC-1' }], now: clock.now,
    config: { authFailures: { windowMs: 60_000, perMeter: 100, unregistered: 100, perClient: 3, perAddress: 1000 } },
  });
  const identity = generateKeyPair();
  const attacker = await meter({ meterId: 'M-1', customerAccount: 'ACC-1', identity });
  t.match(await attacker.register(), { ok: true });
  const forger = generateKeyPair().secretKey;
  for (let i = 0; i < 3; i++) t.match(await attacker.authenticate(forger), { ok: false, reason: 'bad-signature' });
  t.match(await attacker.authenticate(forger), { ok: false, error: { code: 'AUTH_FAILED' }, reason: 'rate-limited' }, 'the 4th failure from that client: refused outright');
  t.match(await attacker.authenticate(), { ok: false, reason: 'rate-limited' }, 'even a correct answer, from that client, in that window');
  const honest = await meter({ meterId: 'M-1', customerAccount: 'ACC-1', identity });
  t.match(await honest.authenticate(), { ok: true, passed: true }, 'the same meter over another client is not locked out');
  clock.advance(60_000);
  t.match(await attacker.authenticate(), { ok: true, passed: true }, 'after the window the client may try again');
});

t.test('an address with too many failures is refused across its clients', async (t) => {
  const clock = new ManualClock();
  const { meter } = await startTestLedger(t, {
    meters: [{ meterId: 'M-1', customerAccount: 'ACC-1' }], now: clock.now,
    config: { authFailures: { windowMs: 60_000, perMeter: 100, unregistered: 100, perClient: 100, perAddress: 4 } },
  });
  const identity = generateKeyPair();
  const forger = generateKeyPair().secretKey;
  const a = await meter({ meterId: 'M-1', customerAccount: 'ACC-1', identity });
  t.match(await a.register(), { ok: true });
  const b = await meter({ meterId: 'M-1', customerAccount: 'ACC-1', identity });
  for (const c of [a, b, a, b]) t.match(await c.authenticate(forger), { ok: false, reason: 'bad-signature' });
  const c = await meter({ meterId: 'M-1', customerAccount: 'ACC-1', identity });
  t.match(await c.authenticate(), { ok: false, reason: 'rate-limited' }, 'a third client from 127.0.0.1 is refused too');
});
