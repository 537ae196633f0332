import { connect } from 'node:net';
import t from 'tap';
import { openWindow } from './client.js';
import { AirgapError } from './errors.js';
import { freePort, httpGet, probe, readAudit, settles, startController, startTarget } from './test-fixtures/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

t.test('a window bridges the relay port to the ledger only while open; closed on request', async (t) => {
  const target = await startTarget(t);
  const relayPort = await freePort();
  const { airgap, auditLog } = await startController(t, target.endpoint, { relay: { port: relayPort } });
  const control = airgap.controlAddress;
  t.equal(control.host, '127.0.0.1');
  t.ok(control.port > 0, 'the ephemeral control port is reported');

  t.equal(await probe(relayPort), 'ECONNREFUSED', 'outside a window the relay port refuses');
  t.same(airgap.stats(), { windows: 0, open: false, refused: 0 });

  const window = await openWindow({ control, reason: 'monthly reconciliation' });
  t.match(window.windowId, UUID);
  t.equal(window.relayUrl, `http://127.0.0.1:${relayPort}`);
  t.ok(window.closesAt.getTime() > Date.now(), 'closesAt is in the future');

  const res = await httpGet(`${window.relayUrl}/v1/log/sth`);
  t.same(res, { status: 200, body: 'ledger saw /v1/log/sth' }, 'during the window a GET reaches the ledger');
  const stats = airgap.stats();
  t.equal(stats.open, true);
  t.equal(stats.windows, 1);
  t.equal(stats.current?.windowId, window.windowId);
  t.equal(stats.current?.reason, 'monthly reconciliation');
  t.ok((stats.current?.bytesFromTarget ?? 0) > 0, 'stats show the bytes relayed so far');

  await window.close();
  t.equal(await window.closed, 'requested');
  t.equal(await probe(relayPort), 'ECONNREFUSED', 'after close the relay port refuses again');
  t.same(airgap.stats(), { windows: 1, open: false, refused: 0 });
  await window.close(); // a second close is harmless

  const audit = readAudit(auditLog);
  t.equal(audit.length, 2, 'one open line and one close line');
  const [open, close] = audit;
  t.match(open, { event: 'open', windowId: window.windowId, reason: 'monthly reconciliation', closedBy: null, durationMs: null });
  t.match(close, { event: 'close', windowId: window.windowId, reason: 'monthly reconciliation', closedBy: 'requested', driver: 'relay' });
  t.match(open?.time, ISO_UTC);
  t.match(close?.time, ISO_UTC);
  t.ok((close?.durationMs ?? -1) >= 0);
  t.ok((close?.bytesToTarget ?? 0) > 0, 'bytes to the ledger recorded');
  t.ok((close?.bytesFromTarget ?? 0) > 0, 'bytes from the ledger recorded');
});

t.test('a window closes by itself at maxMs', async (t) => {
  const target = await startTarget(t);
  const { airgap, auditLog } = await startController(t, target.endpoint);
  const window = await openWindow({ control: airgap.controlAddress, reason: 'short window', maxMs: 300 });
  const port = Number(new URL(window.relayUrl).port);
  t.equal((await httpGet(`${window.relayUrl}/v1/proof`)).status, 200, 'open at first');

  t.equal(await settles(window.closed, 'the max-duration close'), 'max-duration');
  t.equal(await probe(port), 'ECONNREFUSED', 'the relay refuses after the deadline');
  t.equal(airgap.stats().open, false);
  t.match(readAudit(auditLog), [{ event: 'open' }, { event: 'close', closedBy: 'max-duration', windowId: window.windowId }]);
  await window.close(); // closing an already-closed window resolves
});

t.test('a request may ask for less than maxWindowMs, never more', async (t) => {
  const target = await startTarget(t);
  const { airgap } = await startController(t, target.endpoint, { maxWindowMs: 60_000 });
  const err = await openWindow({ control: airgap.controlAddress, reason: 'greedy', maxMs: 60_001 }).catch((e: unknown) => e);
  t.ok(err instanceof AirgapError);
  t.match(err, { code: 'INVALID_REQUEST', message: /maxMs 60001 exceeds this controller's maxWindowMs 60000/ });
  t.equal(airgap.stats().windows, 0, 'nothing was opened');

  const window = await openWindow({ control: airgap.controlAddress, reason: 'modest', maxMs: 1_000 });
  t.ok(window.closesAt.getTime() - Date.now() <= 1_000, 'closesAt reflects the shorter window');
  await window.close();
});

t.test('one window at a time: a second open is WINDOW_BUSY and leaves the first alone', async (t) => {
  const target = await startTarget(t);
  const { airgap } = await startController(t, target.endpoint);
  const first = await openWindow({ control: airgap.controlAddress, reason: 'first' });
  await t.rejects(openWindow({ control: airgap.controlAddress, reason: 'second' }), { name: 'AirgapError', code: 'WINDOW_BUSY' });
  t.equal((await httpGet(`${first.relayUrl}/v1/proof`)).status, 200, 'the first window still relays');
  t.equal(airgap.stats().windows, 1);
  await first.close();

  const third = await openWindow({ control: airgap.controlAddress, reason: 'after the first closed' });
  t.not(third.windowId, first.windowId);
  await third.close();
});

t.test('an active relayed connection is cut the moment its window closes', async (t) => {
  const target = await startTarget(t);
  const { airgap } = await startController(t, target.endpoint);
  const window = await openWindow({ control: airgap.controlAddress, reason: 'long read' });
  const socket = connect({ host: '127.0.0.1', port: Number(new URL(window.relayUrl).port) });
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  socket.setEncoding('utf8');
  const head = new Promise<string>((resolve) => socket.once('data', resolve));
  socket.write('GET /hold HTTP/1.1\r\nhost: ledger\r\n\r\n');
  t.match(await head, /^HTTP\/1\.1 200/);
  const cut = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const ledgerCut = new Promise<void>((resolve) => target.held[0]?.once('close', () => resolve()));

  await settles(window.close(), 'the window to close');
  await settles(Promise.all([cut, ledgerCut]), 'the in-flight connection to be cut');
  t.pass('the collector side and the ledger side were both closed');
});

t.test('shutting the controller down closes the window with reason "shutdown"', async (t) => {
  const target = await startTarget(t);
  const { airgap, auditLog } = await startController(t, target.endpoint);
  const window = await openWindow({ control: airgap.controlAddress, reason: 'interrupted' });
  const port = Number(new URL(window.relayUrl).port);
  await airgap.close();
  t.equal(await settles(window.closed, 'the shutdown event'), 'shutdown');
  t.equal(await probe(port), 'ECONNREFUSED');
  t.equal(await probe(airgap.controlAddress.port), 'ECONNREFUSED', 'the control port is closed too');
  t.match(readAudit(auditLog), [{ event: 'open' }, { event: 'close', closedBy: 'shutdown' }]);
  await airgap.close(); // idempotent
});

t.test('the client reports an unreachable controller as CONTROL_UNREACHABLE', async (t) => {
  const port = await freePort();
  await t.rejects(openWindow({ control: { host: '127.0.0.1', port }, reason: 'nobody home' }), { code: 'CONTROL_UNREACHABLE' });
});
