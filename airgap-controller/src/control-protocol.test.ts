// The control protocol spoken raw, as a hostile or buggy client would: every bad line gets an error
// response naming the problem, and the controller keeps serving.
import t from 'tap';
import { openWindow } from './client.js';
import { httpGet, probe, rawControl, readAudit, settles, startController, startTarget, waitFor } from './test-fixtures/harness.js';

t.test('hostile input gets error responses naming the problem, and the controller keeps working', async (t) => {
  const target = await startTarget(t);
  const { airgap } = await startController(t, target.endpoint);
  const c = await rawControl(t, airgap.controlAddress);

  c.send('garbage\n');
  t.match(await c.next(), { ok: false, error: { code: 'INVALID_JSON', message: /not valid JSON/ } });
  c.send('{"op":"open","reason":\n');
  t.match(await c.next(), { ok: false, error: { code: 'INVALID_JSON', message: /not valid JSON/ } });
  c.send(new Uint8Array([0xc3, 0x28, 0x0a]));
  t.match(await c.next(), { ok: false, error: { code: 'INVALID_JSON', message: /UTF-8/ } });
  c.send('{"op":"self-destruct"}\n');
  t.match(await c.next(), { ok: false, error: { code: 'UNKNOWN_OP', message: /unknown op "self-destruct"/ } });
  c.send('[]\n{"op":"open"}\n{"op":"open","reason":"x","maxMs":-5}\n');
  t.match(await c.next(), { ok: false, error: { code: 'INVALID_REQUEST', message: /JSON object/ } });
  t.match(await c.next(), { ok: false, error: { code: 'INVALID_REQUEST', message: /reason/ } });
  t.match(await c.next(), { ok: false, error: { code: 'INVALID_REQUEST', message: /maxMs/ } });
  c.send('{"op":"sta');
  c.send('tus"}\r\n');
  t.match(await c.next(), { ok: true, open: false, windows: 0 }, 'a request split across writes still works');

  c.send(`{"op":"status","pad":"${'x'.repeat(10 * 1024)}"}\n`);
  t.match(await c.next(), { ok: false, error: { code: 'LINE_TOO_LONG', message: /4096 bytes/ } });
  await settles(c.closed, 'the controller to close the connection after a 10 KB line');
  t.equal(airgap.stats().open, false, 'no window was opened by any of it');

  const window = await openWindow({ control: airgap.controlAddress, reason: 'after the abuse' });
  t.equal((await httpGet(`${window.relayUrl}/v1/proof`)).status, 200, 'the controller still opens windows');
  await window.close();
});

t.test('an over-long line from the window owner ends its connection and so its window', async (t) => {
  const target = await startTarget(t);
  const { airgap, auditLog } = await startController(t, target.endpoint);
  const c = await rawControl(t, airgap.controlAddress);
  c.send('{"op":"open","reason":"then misbehave"}\n');
  t.match(await c.next(), { ok: true });
  c.send('x'.repeat(5000));
  t.match(await c.next(), { ok: false, error: { code: 'LINE_TOO_LONG' } });
  await settles(c.closed, 'the connection to close');
  await waitFor(() => !airgap.stats().open, 'the window to close');
  t.match(readAudit(auditLog), [{ event: 'open' }, { event: 'close', closedBy: 'client-gone' }]);
});

t.test('status, close and the closed event on the wire', async (t) => {
  const target = await startTarget(t);
  const { airgap } = await startController(t, target.endpoint);
  const owner = await rawControl(t, airgap.controlAddress);
  const other = await rawControl(t, airgap.controlAddress);

  owner.send('{"op":"close"}\n');
  t.match(await owner.next(), { ok: false, error: { code: 'NO_WINDOW', message: /no window/ } });

  owner.send('{"op":"open","reason":"wire test","maxMs":60000}\n');
  const opened = await owner.next();
  t.match(opened, {
    ok: true,
    windowId: String,
    relay: { host: '127.0.0.1', port: Number },
    openedAt: /Z$/,
    closesAt: /Z$/,
  });
  const { windowId, openedAt, closesAt } = opened as { windowId: string; openedAt: string; closesAt: string };
  t.equal(Date.parse(closesAt) - Date.parse(openedAt), 60_000, 'closesAt = openedAt + maxMs');

  other.send('{"op":"open","reason":"me too"}\n');
  t.match(await other.next(), { ok: false, error: { code: 'WINDOW_BUSY' } });
  other.send('{"op":"close"}\n');
  t.match(await other.next(), { ok: false, error: { code: 'NOT_OWNER' } }, 'only the owner may close its window');
  other.send('{"op":"status"}\n');
  t.match(await other.next(), { ok: true, open: true, windows: 1, current: { windowId, reason: 'wire test', closesAt } });

  owner.send('{"op":"close"}\n');
  t.same(await owner.next(), { event: 'closed', windowId, reason: 'requested' });
  t.same(await owner.next(), { ok: true, closed: true });
  other.send('{"op":"status"}\n');
  t.same(await other.next(), { ok: true, open: false, windows: 1, refused: 0 });
});

t.test('the window closes the moment its control connection drops (client-gone)', async (t) => {
  const target = await startTarget(t);
  const { airgap, auditLog } = await startController(t, target.endpoint);
  const c = await rawControl(t, airgap.controlAddress);
  c.send('{"op":"open","reason":"about to vanish"}\n');
  const { relay } = (await c.next()) as { relay: { port: number } };
  t.equal(await probe(relay.port), 'connected');
  c.socket.destroy();
  await waitFor(() => !airgap.stats().open, 'the window to close');
  t.equal(await probe(relay.port), 'ECONNREFUSED');
  t.match(readAudit(auditLog), [{ event: 'open' }, { event: 'close', closedBy: 'client-gone' }]);
});
