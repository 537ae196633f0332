// The agent's TLS pieces (issue 5 item 9): its own P-256 key and CSR, and the broker check of a board
// without a real-time clock — dates skipped only while the (injected) clock reads before the floor, chain
// and name always checked — over real TLS sockets on 127.0.0.1.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { TIME_FLOOR_MS, dialTls, loadOrCreateTlsKey, makeCsr, verifyServer } from './tls.js';
import { AgentError } from './errors.js';

function tmp(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'meterseal-agent-tls-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** openssl CLI: a P-256 CA, a server certificate for 127.0.0.1 valid 1 day from now, and a second CA. */
function pki(dir: string): void {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) ssl('req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-subj', `/CN=${ca}`, '-days', '30');
  ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=broker');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'server.ext');
  ssl('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=M-1');
  ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '1');
}

t.test('the TLS key: made once, mode 0600, refused when readable by others; the CSR verifies', async (t) => {
  const dir = tmp(t);
  const path = join(dir, 'tls-client.key');
  const a = loadOrCreateTlsKey(path);
  t.ok(a.created);
  t.equal(statSync(path).mode & 0o777, 0o600);
  const b = loadOrCreateTlsKey(path);
  t.notOk(b.created, 'loaded, not made again');
  t.equal(b.key.export({ type: 'pkcs8', format: 'pem' }), a.key.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'req.der'), makeCsr(a.key, 'M-1'));
  const out = execFileSync('openssl', ['req', '-inform', 'DER', '-in', join(dir, 'req.der'), '-verify', '-noout', '-subject'], { stdio: 'pipe' }).toString();
  t.match(out, /subject=CN ?= ?M-1/, 'CN = meter id; openssl checks the self-signature');
  chmodSync(path, 0o644);
  t.throws(() => loadOrCreateTlsKey(path), { code: 'TLS_KEY' });
});

t.test('verifyServer: chain and name always, dates only once the clock is set', async (t) => {
  const dir = tmp(t);
  pki(dir);
  const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
  const other = new X509Certificate(readFileSync(join(dir, 'other-ca.crt')));
  const server = new X509Certificate(readFileSync(join(dir, 'server.crt')));
  const realNow = Date.now();
  const check = (now: number, o: { ca?: X509Certificate; host?: string } = {}) =>
    verifyServer(server, { ca: o.ca ?? ca, host: o.host ?? '127.0.0.1', now: () => now, timeFloorMs: TIME_FLOOR_MS })?.code ?? 'ok';
  t.equal(check(realNow), 'ok', 'a set clock inside the validity');
  t.equal(check(0), 'ok', '1970 (no RTC): dates skipped');
  t.equal(check(TIME_FLOOR_MS - 1), 'ok', 'just before the floor: still treated as unset');
  t.equal(check(realNow + 3 * 86_400_000), 'TLS_EXPIRED', 'a set clock after notAfter');
  t.equal(check(Date.parse(server.validFrom) - 60_000), 'TLS_NOT_YET_VALID', 'a set clock (after the floor) before notBefore');
  t.equal(check(0, { ca: other }), 'TLS_UNTRUSTED', 'no RTC does not relax the chain');
  t.equal(check(0, { host: '127.0.0.2' }), 'TLS_NAME', 'no RTC does not relax the name');
  t.equal(check(realNow, { host: 'localhost' }), 'TLS_NAME', 'a name the certificate does not carry');
  t.equal(verifyServer(undefined, { ca, host: '127.0.0.1', now: () => 0, timeFloorMs: TIME_FLOOR_MS })?.code, 'TLS_UNTRUSTED');
});

t.test('dialTls over a real socket: a 1970 clock connects; a foreign CA or an expired view is cut off', async (t) => {
  const dir = tmp(t);
  pki(dir);
  const server: Server = createServer({
    cert: readFileSync(join(dir, 'server.crt')), key: readFileSync(join(dir, 'server.key')), ca: readFileSync(join(dir, 'ca.crt')),
    requestCert: true, rejectUnauthorized: true,
  }, (s) => s.end('hello'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const dial = (now: number, caFile = 'ca.crt') => new Promise<string>((resolve) => {
    const s = dialTls({
      host: '127.0.0.1', port, ca: new X509Certificate(readFileSync(join(dir, caFile))),
      cert: readFileSync(join(dir, 'client.crt'), 'utf8'), key: readFileSync(join(dir, 'client.key'), 'utf8'), now: () => now, timeFloorMs: TIME_FLOOR_MS,
    });
    let data = '';
    s.on('data', (d) => (data += d));
    s.on('error', (e) => resolve(e instanceof AgentError ? e.code : `error ${e.message}`));
    s.on('close', () => resolve(data === 'hello' ? 'ok' : `closed (${data})`));
  });
  t.equal(await dial(0), 'ok', 'clock at 1970: connected, the server\'s answer read');
  t.equal(await dial(Date.now()), 'ok', 'clock set: connected');
  t.equal(await dial(Date.now() + 3 * 86_400_000), 'TLS_EXPIRED', 'clock set past notAfter: destroyed');
  t.equal(await dial(0, 'other-ca.crt'), 'TLS_UNTRUSTED', 'pinned another CA: destroyed even at 1970');
});
