// Failed authentications cannot grow the log without bound (issue 3 item 4): past the threshold they are
// summarised in one AuthSummary (0x0B) per meter and window. Real ledger, real broker, a controllable clock.
import t from 'tap';
import { join } from 'node:path';
import { decodeAuthResult, decodeAuthSummary, generateKeyPair } from '@meterseal/protocol';
import { AuthFailureLog } from './auth-log.js';
import { openSqliteStore } from './sqlite-store.js';
import { ManualClock, startTestLedger } from './testing/harness.js';

t.test('AuthFailureLog: per-meter and shared unregistered budgets, one summary per window', async (t) => {
  const f = new AuthFailureLog({ windowMs: 1000, perMeter: 2, unregistered: 1 });
  t.same([1, 2, 3, 4].map(() => f.admit('M-1', true, 'bad-signature', 0)), [true, true, false, false]);
  t.equal(f.admit('M-1', true, 'unknown-nonce', 10), false);
  t.same([f.admit('X-1', false, 'unknown-meter', 0), f.admit('X-2', false, 'unknown-meter', 0)], [true, false], 'unregistered ids share one budget');
  t.same(f.due(999), [], 'nothing before the window ends');
  const due = f.due(1000);
  t.equal(due.length, 2);
  t.match(due.find((s) => s.scope === 'meter'), { meterId: 'M-1', failures: 3, reasons: [{ reason: 'bad-signature', count: 2 }, { reason: 'unknown-nonce', count: 1 }] });
  t.match(due.find((s) => s.scope === 'unregistered'), { meterId: '', failures: 1 });
  t.same(f.due(5000), [], 'each summary once');
  t.equal(f.admit('M-1', true, 'bad-signature', 5000), true, 'a new window logs again');
});

t.test('a flood of bad authentications adds a bounded number of log entries', async (t) => {
  const clock = new ManualClock();
  const { ledger, dataDir, meter } = await startTestLedger(t, {
    meters: [{ meterId: 'M-1', customerAccount: 'ACC-1' }], now: clock.now,
    config: { authFailures: { windowMs: 60_000, perMeter: 3, unregistered: 2 } },
  });
  const m = await meter({ meterId: 'M-1', customerAccount: 'ACC-1' });
  t.match(await m.register(), { ok: true });
  const size0 = ledger.stats().treeSize;
  const forger = generateKeyPair().secretKey;
  const answers = [];
  for (let i = 0; i < 12; i++) answers.push(await m.authenticate(forger));
  t.ok(answers.every((a) => a.ok === false && a.reason === 'bad-signature'), 'every failure is answered with its reason');
  t.equal(answers.filter((a) => a.summarised === true).length, 9);
  t.equal(ledger.stats().treeSize, size0 + 3, 'only the first 3 are logged one by one');

  clock.advance(60_000);
  t.match(await m.authenticate(), { ok: true, passed: true }, 'a pass is always logged');
  t.equal(ledger.stats().treeSize, size0 + 3 + 2, 'the summary of the closed window, then the pass');
  const store = openSqliteStore(join(dataDir, 'ledger.sqlite'), { readonly: true });
  t.teardown(() => store.close());
  const summary = decodeAuthSummary(store.getEntry(BigInt(size0 + 3))!);
  t.match(summary, { scope: 'meter', meterId: 'M-1', failures: 9, reasons: [{ reason: 'bad-signature', count: 9 }] });
  t.equal(decodeAuthResult(store.getEntry(BigInt(size0 + 4))!).passed, true);
});
