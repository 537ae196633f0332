// README §Policy: with a schedule, scheduled windows open only inside a slot; an operator's request (name +
// reason) is granted any time and audited with the name. node-cron drives the real slots.
import t from 'tap';
import { openWindow } from './client.js';
import { parseAirgapConfig } from './config.js';
import { readAudit, settles, startController, startTarget } from './test-fixtures/harness.js';

t.test('outside a slot only an operator may open; a cron tick opens a slot', async (t) => {
  const target = await startTarget(t);
  // 1 January at 00:00 UTC: no slot during the test
  const { airgap, auditLog } = await startController(t, target.endpoint, { schedule: { cron: '0 0 1 1 *', slotMs: 60_000 } });
  await t.rejects(openWindow({ control: airgap.controlAddress, reason: 'scheduled reconciliation' }), { code: 'OUTSIDE_SCHEDULE', message: /next at \d{4}-01-01T00:00:00\.000Z/ });
  t.match(airgap.stats(), { windows: 0, schedule: { slotOpen: false, slotUntil: null } });
  const w = await openWindow({ control: airgap.controlAddress, reason: 'meter 7 complaint', operator: 'alice' });
  await w.close();
  t.match(readAudit(auditLog), [{ event: 'open', operator: 'alice', reason: 'meter 7 complaint' }, { event: 'close', operator: 'alice' }]);
  await t.rejects(openWindow({ control: airgap.controlAddress, reason: 'x', operator: 'no spaces' }), { code: 'INVALID_REQUEST' });
});

t.test('every second a slot opens (six-field cron), and a scheduled request is granted in it', async (t) => {
  const target = await startTarget(t);
  const { airgap } = await startController(t, target.endpoint, { schedule: { cron: '* * * * * *', slotMs: 1000 } });
  await settles(
    (async () => {
      while (!airgap.stats().schedule?.slotOpen) await new Promise((r) => setTimeout(r, 50));
    })(),
    'a cron tick',
  );
  const w = await openWindow({ control: airgap.controlAddress, reason: 'scheduled reconciliation' });
  t.ok(w.windowId);
  await w.close();
});

t.test('a bad cron expression is a CONFIG_INVALID naming the field', async (t) => {
  t.throws(() => parseAirgapConfig({ target: { host: '127.0.0.1', port: 1 }, auditLog: '/tmp/a', schedule: { cron: 'every tuesday' } }), {
    code: 'CONFIG_INVALID',
    message: /schedule\.cron/,
  });
});
