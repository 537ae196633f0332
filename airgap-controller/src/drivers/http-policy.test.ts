// README §Policy: only body-less GETs on the allowlist cross the relay; everything else is refused with
// 400/403/431, audited, and never reaches the ledger. Unit tests of the parser, then the real controller.
import { createServer, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import { openWindow } from '../client.js';
import { AirgapError } from '../errors.js';
import { readAudit, silentLog, tempAuditPath } from '../test-fixtures/harness.js';
import { startAirgap } from '../controller.js';
import { DEFAULT_HTTP_ALLOWLIST, MAX_HEAD_BYTES, RequestHeadFramer, checkRequest, isPeriodId, parseRequestHead, pathAllowed } from './http-filter.js';

const head = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof AirgapError ? err.code : `untyped ${String(err)}`;
  }
};
const check = (s: string): string => code(() => checkRequest(parseRequestHead(head(s)), DEFAULT_HTTP_ALLOWLIST));

t.test('the parser and the policy', async (t) => {
  t.equal(check('GET /checkpoint HTTP/1.1\r\nHost: ledger'), 'ok');
  t.equal(check('GET /v1/anchors?meter=DDSU666-000001&from=1&to=9 HTTP/1.1\r\nHost: l\r\nAccept: */*'), 'ok');
  t.equal(check('GET /tile/0/x001/234.p/5 HTTP/1.1\r\nHost: l'), 'ok');
  t.equal(check('GET /v1/meter/node?meter=A&size=3&start=0&end=2 HTTP/1.1\r\nHost: l'), 'ok');
  t.equal(check('GET /v1/index?start=0&count=10 HTTP/1.1\r\nHost: l'), 'ok');
  t.equal(check('GET /v1/stats HTTP/1.1\r\nHost: l'), 'HTTP_FORBIDDEN', 'not a reconciliation path');
  t.equal(check('GET /healthz HTTP/1.1\r\nHost: l'), 'HTTP_FORBIDDEN');
  t.equal(check('GET /tile/ HTTP/1.1\r\nHost: l'), 'HTTP_FORBIDDEN', 'a prefix alone is not a path under it');
  t.equal(check('GET /checkpointx HTTP/1.1\r\nHost: l'), 'HTTP_FORBIDDEN');
  t.equal(check('POST /checkpoint HTTP/1.1\r\nHost: l\r\nContent-Length: 0'), 'HTTP_FORBIDDEN');
  t.equal(check('HEAD /checkpoint HTTP/1.1\r\nHost: l'), 'HTTP_FORBIDDEN');
  t.equal(check('GET /checkpoint HTTP/1.1\r\nHost: l\r\nContent-Length: 5'), 'HTTP_FORBIDDEN', 'no body');
  t.equal(check('GET /checkpoint HTTP/1.1\r\nHost: l\r\nTransfer-Encoding: chunked'), 'HTTP_FORBIDDEN');
  t.equal(check('GET /checkpoint HTTP/1.1\r\nHost: l\r\nUpgrade: websocket'), 'HTTP_FORBIDDEN');
  t.equal(check('GET /tile/../v1/stats HTTP/1.1\r\nHost: l'), 'HTTP_MALFORMED', 'dot segments');
  t.equal(check('GET /tile/%2e%2e/v1/stats HTTP/1.1\r\nHost: l'), 'HTTP_MALFORMED', 'percent-encoding in the path');
  t.equal(check('GET //checkpoint HTTP/1.1\r\nHost: l'), 'HTTP_MALFORMED');
  t.equal(check('GET http://ledger/checkpoint HTTP/1.1\r\nHost: l'), 'HTTP_MALFORMED', 'absolute-form');
  t.equal(check('GET /checkpoint HTTP/1.1'), 'HTTP_MALFORMED', 'HTTP/1.1 without Host');
  t.equal(check('GET /checkpoint HTTP/1.1\r\nHost: a\r\nHost: b'), 'HTTP_MALFORMED', 'two Hosts');
  t.equal(check('GET /checkpoint HTTP/1.1\r\nHost: l\r\n folded'), 'HTTP_MALFORMED', 'obs-fold');
  t.equal(check('GET /checkpoint HTTP/1.1\r\nHost : l'), 'HTTP_MALFORMED', 'space before the colon');
  t.equal(check('GET /checkpoint HTTP/1.1\nHost: l'), 'HTTP_MALFORMED', 'bare LF');
  t.equal(check('GET  /checkpoint HTTP/1.1\r\nHost: l'), 'HTTP_MALFORMED');
  t.equal(check('GET /checkpoint HTTP/2\r\nHost: l'), 'HTTP_MALFORMED');
  t.equal(check('GET /check\u00e9 HTTP/1.1\r\nHost: l'), 'HTTP_MALFORMED');
  t.equal(check(`GET /checkpoint HTTP/1.1\r\nHost: l${'\r\nX-A: b'.repeat(70)}`), 'HTTP_TOO_LARGE');
  t.ok(pathAllowed('/v1/proof/inclusion', DEFAULT_HTTP_ALLOWLIST));
  t.notOk(pathAllowed('/v1/proofs', DEFAULT_HTTP_ALLOWLIST));

  const framer = new RequestHeadFramer();
  t.same(framer.push(head('GET /checkpoint HTTP/1.1\r\nHo')), []);
  const two = framer.push(head('st: l\r\n\r\nGET /v1/meters HTTP/1.1\r\nHost: l\r\n\r\nGET'));
  t.same(two.map((h) => h.toString('latin1').split(' ')[1]), ['/checkpoint', '/v1/meters'], 'heads split across chunks, pipelined');
  t.equal(code(() => new RequestHeadFramer().push(new Uint8Array(MAX_HEAD_BYTES + 1).fill(0x41))), 'HTTP_TOO_LARGE', 'bounded without a CRLFCRLF');

  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const c = code(() => checkRequest(parseRequestHead(bytes), DEFAULT_HTTP_ALLOWLIST));
      return c === 'ok' || c.startsWith('HTTP_');
    }),
    { numRuns: 2000 },
  );
});

t.test("a rotating ledger's period paths: /periods and the read paths of /period/<id>/, for a well-formed period id only", async (t) => {
  for (const ok of [
    '/periods', '/period/2026-11/link', '/period/2026-11-21/checkpoint', '/period/2026-11-21T13/v1/index?start=0&count=10000',
    '/period/2026-11-21T13/v1/meter/node?meter=A&size=3&start=0&end=2', '/period/2026-11-21T13/v1/meter/range?meter=A&size=3&start=0&end=2',
    '/period/2026-02-28/v1/proof/consistency?from=1&to=3', '/period/2024-02-29/v1/proof/inclusion?index=0&size=3', '/period/2026-11/tile/0/000',
  ]) t.equal(check(`GET ${ok} HTTP/1.1\r\nHost: l`), 'ok', ok);
  for (const refused of [
    '/period/2026-11-21T13/receipt?meter=A&seq=1', '/period/2026-11-21T13/v1/stats', '/period/2026-11-21T13/v1/anchors', '/period/2026-11/v1/index/x/../y',
    '/period/_/link', '/period/2026-13/link', '/period/2026-02-30/link', '/period/2025-02-29/link', '/period/2026-11-21T24/link', '/period/2026-1/link',
    '/period/2026-11-21T13:00/link', '/period/2026-11-21t13/link', '/period/12026-11/link', '/period/2026-11-21T13x/link', '/period/link', '/period/2026-11',
    '/period/2026-11/', '/period/2026-11/checkpointx', '/periods/2026-11', '/period//link', '/period/2026-11/period/2026-11/link',
  ]) t.not(check(`GET ${refused} HTTP/1.1\r\nHost: l`), 'ok', refused);
  t.equal(check('GET /period/2026-02-30/link HTTP/1.1\r\nHost: l'), 'HTTP_FORBIDDEN', 'not a calendar day: refused by the policy');
  t.ok(isPeriodId('2026-11-21T00'));
  t.notOk(isPeriodId('2026-11-21T00'.repeat(2)));
  t.notOk(isPeriodId('0000-00'));
  t.notOk(pathAllowed('/period/2026-11/v1/index', ['/v1/index']), 'a current-log entry does not open the period paths');
  t.ok(pathAllowed('/period/2026-11/v1/index', ['/period/_/v1/index']));
});

/** Sends raw bytes through the relay; resolves everything it answered until the connection closed. */
function raw(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(bytes, 'latin1');
    socket.setTimeout(20_000, () => socket.destroy(new Error('no close within 20 s')));
  });
}

t.test('through the controller: allowed GETs pass, everything else is refused, audited and never reaches the ledger', async (t) => {
  const seen: string[] = [];
  const ledger = createServer((req: IncomingMessage, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.setHeader('connection', 'close');
    res.end(`ledger: ${req.url}`);
  });
  await new Promise<void>((resolve) => ledger.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    ledger.closeAllConnections();
    ledger.close(() => resolve());
  }));
  const port = (ledger.address() as { port: number }).port;
  const auditLog = tempAuditPath(t);
  const airgap = await startAirgap({ target: { host: '127.0.0.1', port }, auditLog }, { log: silentLog });
  t.teardown(() => airgap.close());
  const window = await openWindow({ control: airgap.controlAddress, reason: 'policy test' });
  t.teardown(() => window.close());

  const ok = await fetch(`${window.relayUrl}/checkpoint`);
  t.equal(ok.status, 200);
  t.equal(await ok.text(), 'ledger: /checkpoint');

  const stats = await fetch(`${window.relayUrl}/v1/stats`);
  t.equal(stats.status, 403);
  t.match(await stats.json(), { error: { code: 'HTTP_FORBIDDEN', message: /not on the allowlist/ } });
  t.equal((await fetch(`${window.relayUrl}/v1/anchors`, { method: 'POST', body: 'x' })).status, 403);
  t.match(await raw(window.relayUrl, `GET /checkpoint HTTP/1.1\r\nHost: l\r\nX: ${'a'.repeat(9000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
  t.match(await raw(window.relayUrl, 'GET /checkpoint HTTP/1.1\r\nHost: l\r\nContent-Length: 44\r\n\r\nGET /v1/stats HTTP/1.1\r\nHost: l\r\n\r\n'), /^HTTP\/1\.1 403 /, 'a smuggled request in a body is refused');
  const pipelined = await raw(window.relayUrl, 'GET /v1/meters HTTP/1.1\r\nHost: l\r\n\r\nDELETE /v1/meters HTTP/1.1\r\nHost: l\r\n\r\n');
  t.match(pipelined, /403 Forbidden/, 'the second, pipelined request is refused');
  t.match(await raw(window.relayUrl, 'GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400 /);

  t.same(seen, ['GET /checkpoint'], 'the ledger saw only the allowed request');
  t.equal(airgap.stats().refused, 6);
  await window.close();
  const refused = readAudit(auditLog).filter((r) => r.event === 'refused');
  t.equal(refused.length, 6, 'every refusal is audited');
  t.match(refused[0], { windowId: window.windowId, reason: 'policy test', request: 'GET /v1/stats', error: /^HTTP_FORBIDDEN: / });
  t.match(refused[1], { request: 'POST /v1/anchors' });
});
