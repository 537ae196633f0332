import { connect, createServer } from 'node:net';
import t from 'tap';
import { AirgapError } from '../errors.js';
import { freePort, httpGet, probe, settles, silentLog, startTarget } from '../test-fixtures/harness.js';
import { RelayDriver } from './relay.js';

t.test('refuses while closed, relays HTTP while open, refuses again after close; counts bytes per window', async (t) => {
  const target = await startTarget(t);
  const port = await freePort();
  const relay = new RelayDriver({ listen: { host: '127.0.0.1', port }, target: target.endpoint, log: silentLog });
  t.teardown(() => settles(relay.close(), 'relay.close()'));

  t.equal(relay.isOpen(), false);
  t.equal(await probe(port), 'ECONNREFUSED', 'nothing listens before open()');

  t.same(await relay.open(), { host: '127.0.0.1', port });
  t.equal(relay.isOpen(), true);
  const res = await httpGet(`http://127.0.0.1:${port}/v1/sth`);
  t.same(res, { status: 200, body: 'ledger saw /v1/sth' }, 'the GET reached the target through the relay');
  const first = relay.traffic();
  t.ok(first.toTarget > 'GET /v1/sth HTTP/1.1\r\n'.length, 'request bytes counted');
  t.ok(first.fromTarget > 'ledger saw /v1/sth'.length, 'response bytes counted');

  await relay.close();
  t.equal(relay.isOpen(), false);
  t.equal(await probe(port), 'ECONNREFUSED', 'nothing listens after close()');
  t.same(relay.traffic(), first, 'counts survive close() so the window can be audited');

  await relay.open();
  t.same(relay.traffic(), { toTarget: 0, fromTarget: 0 }, 'counts restart with each window');
});

t.test('close() cuts every active relayed connection at once, both halves', async (t) => {
  const target = await startTarget(t);
  const relay = new RelayDriver({ listen: { host: '127.0.0.1', port: 0 }, target: target.endpoint, log: silentLog });
  t.teardown(() => settles(relay.close(), 'relay.close()'));
  const { port } = await relay.open();

  const sockets = [0, 1].map(() => connect({ host: '127.0.0.1', port }));
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  const firstBytes = sockets.map(
    (socket) =>
      new Promise<string>((resolve) => {
        socket.setEncoding('utf8');
        socket.once('data', resolve);
        socket.on('error', () => {});
        socket.write('GET /hold HTTP/1.1\r\nhost: ledger\r\n\r\n');
      }),
  );
  t.match(await Promise.all(firstBytes), [/^HTTP\/1\.1 200/, /^HTTP\/1\.1 200/], 'both requests are in flight');
  t.equal(relay.activeConnections(), 2);
  t.equal(target.held.length, 2);

  const collectorSide = sockets.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
  const ledgerSide = target.held.map((res) => new Promise<void>((resolve) => res.once('close', () => resolve())));
  await settles(relay.close(), 'relay.close()');
  t.equal(relay.activeConnections(), 0);
  await settles(Promise.all([...collectorSide, ...ledgerSide]), 'both ends of the relayed connections to close');
  t.pass('the collector and the ledger both saw their connections closed');
});

t.test('open() twice is a state error; a port in use is DRIVER_FAILED and leaves it closed', async (t) => {
  const target = await startTarget(t);
  const relay = new RelayDriver({ listen: { host: '127.0.0.1', port: 0 }, target: target.endpoint, log: silentLog });
  t.teardown(() => settles(relay.close(), 'relay.close()'));
  await relay.open();
  await t.rejects(relay.open(), { code: 'DRIVER_STATE' });
  t.equal(relay.isOpen(), true, 'the first open is untouched');
  await relay.close();
  await relay.close(); // idempotent

  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  const address = squatter.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const blocked = new RelayDriver({ listen: { host: '127.0.0.1', port: address.port }, target: target.endpoint, log: silentLog });
  const err = await blocked.open().catch((e: unknown) => e);
  t.ok(err instanceof AirgapError);
  t.equal((err as AirgapError).code, 'DRIVER_FAILED');
  t.equal(blocked.isOpen(), false);
});

t.test('a relayed connection to a target that is down is closed, not left hanging', async (t) => {
  const deadPort = await freePort();
  const relay = new RelayDriver({ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: deadPort }, log: silentLog });
  t.teardown(() => settles(relay.close(), 'relay.close()'));
  const { port } = await relay.open();
  const socket = connect({ host: '127.0.0.1', port });
  t.teardown(() => socket.destroy());
  socket.on('error', () => {});
  await settles(new Promise<void>((resolve) => socket.once('close', () => resolve())), 'the relayed connection to close');
  t.equal(relay.activeConnections(), 0);
  t.equal(relay.isOpen(), true, 'the relay itself keeps listening');
});
