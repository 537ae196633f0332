// T-I4: an insider at the collection system holds the air gap open beyond policy. The real controller
// (relay driver, audit file) refuses a window longer than its maximum and closes a held window at the
// maximum by itself, auditing the forced close.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { connect } from 'node:net';
import { openWindow, startAirgap } from '@meterseal/airgap-controller';
import { tempDir } from '@meterseal/ledger-service/testing/harness';
import { silentLog } from './harness.js';

const probe = (port: number): Promise<string> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve('connected')));
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });

t.test('T-I4: the air gap held open beyond policy is refused, then closed at max duration and audited', async (t) => {
  const dir = tempDir(t, 'meterseal-attacks-airgap-');
  const target = createServer((_req, res) => res.end('ledger'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => target.close(() => resolve())));
  const addr = target.address() as { port: number };
  const auditLog = join(dir, 'audit.jsonl');
  const airgap = await startAirgap({ target: { host: '127.0.0.1', port: addr.port }, auditLog, maxWindowMs: 1500 }, { log: silentLog });
  t.teardown(() => airgap.close());

  await t.rejects(openWindow({ control: airgap.controlAddress, reason: 'exfiltrate', maxMs: 3_600_000 }), { code: 'INVALID_REQUEST' }, 'a window longer than the policy is refused');
  t.equal(airgap.stats().open, false);

  // the insider opens a window and never closes it (keeps the control connection up)
  const window = await openWindow({ control: airgap.controlAddress, reason: 'held open by insider' });
  const relayPort = Number(new URL(window.relayUrl).port);
  t.equal(await probe(relayPort), 'connected', 'open at first');
  let timer: NodeJS.Timeout | undefined;
  const end = await Promise.race([window.closed, new Promise((resolve) => (timer = setTimeout(() => resolve('still open after 30 s'), 30_000)))]);
  clearTimeout(timer);
  t.equal(end, 'max-duration', 'the controller closed it at the maximum');
  t.equal(await probe(relayPort), 'ECONNREFUSED', 'the relay refuses after the deadline');
  t.equal(airgap.stats().open, false);
  const audit = readFileSync(auditLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const closes = audit.filter((a) => a.event === 'close' && a.windowId === window.windowId);
  t.match(closes, [{ closedBy: 'max-duration', reason: 'held open by insider' }], 'the forced close is audited with the window and reason');
  t.ok(Number(closes[0]!.durationMs) >= 1400, `held no shorter than the max (${String(closes[0]!.durationMs)} ms)`);
  await window.close();
});
