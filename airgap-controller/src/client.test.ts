// The client against scripted fake controllers: typed errors for every way the other end can misbehave.
import { createServer, type Socket } from 'node:net';
import t from 'tap';
import { openWindow } from './client.js';
import { AirgapError } from './errors.js';
import { settles, startController, startTarget, type Teardown } from './test-fixtures/harness.js';

/** A fake controller that hands each connection to `script`. */
async function fakeController(t: Teardown, script: (socket: Socket) => void): Promise<{ host: string; port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    script(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { host: '127.0.0.1', port: address.port };
}

const openAnswer = {
  ok: true,
  windowId: '0b6f4a52-5f5e-4a8e-9d0c-3e1f8a7b2c11',
  relay: { host: '127.0.0.1', port: 40123 },
  openedAt: '2025-01-01T00:00:00.000Z',
  closesAt: '2025-01-01T00:02:00.000Z',
};

t.test('speaks the protocol: open builds the Window, close sends "close" and ends the connection', async (t) => {
  const requests: unknown[] = [];
  let hungUp!: () => void;
  const ended = new Promise<void>((resolve) => (hungUp = resolve));
  const control = await fakeController(t, (socket) => {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        const request = JSON.parse(line) as { op: string };
        requests.push(request);
        if (request.op === 'open') socket.write(`${JSON.stringify(openAnswer)}\n`);
        if (request.op === 'close') {
          socket.write(`${JSON.stringify({ event: 'closed', windowId: openAnswer.windowId, reason: 'requested' })}\n`);
          socket.write('{"ok":true,"closed":true}\n');
        }
      }
    });
    socket.once('end', () => {
      hungUp();
      socket.end();
    });
  });
  const window = await openWindow({ control, reason: 'audit', maxMs: 5000 });
  t.equal(window.windowId, openAnswer.windowId);
  t.equal(window.relayUrl, 'http://127.0.0.1:40123');
  t.equal(window.closesAt.toISOString(), openAnswer.closesAt);
  await settles(window.close(), 'close()');
  t.equal(await window.closed, 'requested');
  await settles(ended, 'the client to hang up');
  t.same(requests, [{ op: 'open', reason: 'audit', maxMs: 5000 }, { op: 'close' }]);
});

t.test('a controller that hangs up mid-window resolves closed with connection-lost', async (t) => {
  const control = await fakeController(t, (socket) =>
    socket.once('data', () => {
      socket.write(`${JSON.stringify(openAnswer)}\n`);
      setImmediate(() => socket.destroy());
    }),
  );
  const window = await openWindow({ control, reason: 'audit' });
  t.equal(await settles(window.closed, 'closed'), 'connection-lost');
  await window.close(); // nothing left to close; resolves
});

t.test('the closed event is not lost when it arrives in the same chunk as the open answer', async (t) => {
  const control = await fakeController(t, (socket) =>
    socket.once('data', () => {
      const event = { event: 'closed', windowId: openAnswer.windowId, reason: 'max-duration' };
      socket.write(`${JSON.stringify(openAnswer)}\n${JSON.stringify(event)}\n`);
    }),
  );
  const window = await openWindow({ control, reason: 'audit' });
  t.equal(await settles(window.closed, 'closed'), 'max-duration');
});

t.test('typed errors for refusals, nonsense and silence', async (t) => {
  const cases: [(socket: Socket) => void, string, RegExp][] = [
    [(s) => s.write('{"ok":false,"error":{"code":"WINDOW_BUSY","message":"busy"}}\n'), 'WINDOW_BUSY', /busy/],
    [(s) => s.write('{"ok":false,"error":{"code":"EXPLODED","message":"?"}}\n'), 'PROTOCOL_ERROR', /unknown error "EXPLODED"/],
    [(s) => s.write('not json\n'), 'PROTOCOL_ERROR', /unreadable/],
    [(s) => s.write('{"ok":true}\n'), 'PROTOCOL_ERROR', /unexpected answer/],
    [(s) => s.write('x'.repeat(5000)), 'PROTOCOL_ERROR', /over-long/],
    [(s) => s.end(), 'CONNECTION_LOST', /closed/],
    [() => {}, 'TIMEOUT', /within 200 ms/],
  ];
  for (const [answer, code, message] of cases) {
    const control = await fakeController(t, (socket) => socket.once('data', () => answer(socket)));
    const err = await openWindow({ control, reason: 'audit', timeoutMs: 200 }).catch((e: unknown) => e);
    t.ok(err instanceof AirgapError, `${code} is an AirgapError`);
    t.match(err, { code, message }, code);
  }
});

t.test('a 1 ms window against the real controller still reports max-duration', async (t) => {
  const target = await startTarget(t);
  const { airgap } = await startController(t, target.endpoint);
  const window = await openWindow({ control: airgap.controlAddress, reason: 'blink', maxMs: 1 });
  t.equal(await settles(window.closed, 'closed'), 'max-duration');
});
