// The collector dies (kill -9) while holding a window: the kernel closes its control connection, and
// the controller must close the window at once. Uses a real child process, not an in-process socket.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { openWindow } from './client.js';
import { httpGet, probe, readAudit, settles, startController, startFixture, startTarget, waitFor } from './test-fixtures/harness.js';

const fixture = fileURLToPath(new URL('./test-fixtures/hold-window.ts', import.meta.url));

t.test('kill -9 of the collector closes its window with client-gone; the audit pairs every window', async (t) => {
  const target = await startTarget(t);
  const { airgap, auditLog } = await startController(t, target.endpoint);
  const { host, port } = airgap.controlAddress;

  // Window 1: closed on request (so the audit has more than one window to pair up).
  const first = await openWindow({ control: airgap.controlAddress, reason: 'before the crash' });
  await first.close();

  // Window 2: held by a child process that is then killed.
  const { child, line, exited } = await startFixture(t, fixture, [host, String(port)], 'the child to open its window');
  const held = JSON.parse(line) as { windowId: string; relayUrl: string };
  const relayPort = Number(new URL(held.relayUrl).port);
  t.equal(airgap.stats().current?.windowId, held.windowId, 'the child holds the open window');
  t.equal((await httpGet(`${held.relayUrl}/v1/proof`)).body, 'ledger saw /v1/proof', 'the relay works while the child lives');

  child.kill('SIGKILL');
  t.equal(await settles(exited, 'the child to die'), 'SIGKILL');
  await waitFor(() => !airgap.stats().open, 'the window to close after the kill');
  t.equal(await probe(relayPort), 'ECONNREFUSED', 'the relay refuses once the collector is gone');

  const audit = readAudit(auditLog);
  t.equal(audit.length, 4, 'two windows, two lines each');
  for (const windowId of [first.windowId, held.windowId]) {
    const lines = audit.filter((r) => r.windowId === windowId);
    t.same(lines.map((r) => r.event), ['open', 'close'], `window ${windowId}: one open, then one close`);
  }
  t.match(audit.find((r) => r.windowId === first.windowId && r.event === 'close'), { closedBy: 'requested' });
  t.match(audit.find((r) => r.windowId === held.windowId && r.event === 'close'), {
    closedBy: 'client-gone',
    reason: 'client-death test',
  });
});
