// The dashboard over real HTTP: login (scrypt, signed cookie, CSRF, rate limit), the pages built from a real
// collector's store and runs, an operator-requested window, and escaping of hostile values.
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { silentLog } from '../testing/harness.js';
import { hashPassword } from './auth.js';
import { startDashboard } from './server.js';
import { Browserless, METERS, OPERATOR, startScenario } from './test-scenario.js';

t.test('login, meters, a located divergence, an operator-requested window, logout', async (t) => {
  const s = await startScenario(t);
  t.match(s.dashboardUrl, /^http:\/\/127\.0\.0\.1:\d+$/, 'bound to loopback by default');
  const b = new Browserless(s.dashboardUrl);

  const anon = await b.request('/');
  t.equal(anon.status, 303);
  t.equal(anon.headers.get('location'), '/login');
  t.equal((await b.request('/runs', { form: { csrf: 'x' } })).status, 401, 'no POST without a session');

  const noToken = await b.request('/login', { form: { user: OPERATOR.name, password: OPERATOR.password } });
  t.equal(noToken.status, 403, 'a login POST without the form token (login CSRF) is refused');
  t.equal((await b.login(OPERATOR.name, 'wrong')).status, 401);
  t.equal((await b.login('mallory', OPERATOR.password)).status, 401);

  const ok = await b.login(OPERATOR.name, OPERATOR.password);
  t.equal(ok.status, 303);
  const setCookie = ok.headers.getSetCookie().find((c) => c.startsWith('ms_session='))!;
  t.match(setCookie, /HttpOnly/);
  t.match(setCookie, /SameSite=Strict/);
  t.match(setCookie, /Max-Age=28800/);

  const meters = await b.request('/');
  t.equal(meters.status, 200);
  for (const m of METERS) t.match(meters.text, m);
  t.match(meters.text, /<td>12<\/td>/, 'last seq shown');
  t.match(meters.headers.get('content-security-policy') ?? '', /default-src 'none'/);

  const chart = await b.request(`/meters/${METERS[0]}`);
  t.match(chart.text, /<svg[^>]*role="img"/);
  t.match(chart.text, /<polyline/);

  const [edit] = s.tampered;
  const run = await b.request(`/runs/${s.report.id}`);
  t.equal(run.status, 200);
  t.match(run.text, new RegExp(`<td>${edit!.meterId}</td><td>${edit!.seq}</td>\\s*<td class="bad">tampered</td>`), 'the edit is located by meter and seq');
  t.match(run.text, /values: 1\.0\.1\.8\.0\.255 = /, 'the collector-side values are shown');
  t.match(run.text, new RegExp(s.report.items[0]!.ledgerHash!), 'the ledger-side hash is shown');

  const runs = await b.request('/runs');
  const csrf = Browserless.csrf(runs.text);
  t.ok(csrf.length > 20);
  const windowsBefore = s.airgap.stats().windows;
  const forged = await b.request('/reconcile', { form: { reason: 'forged' } });
  t.equal(forged.status, 403, 'no CSRF token, no window');
  t.equal((await b.request('/reconcile', { form: { reason: 'x', csrf: csrf.slice(1) + 'A' } })).status, 403);
  t.equal(s.airgap.stats().windows, windowsBefore, 'refused requests opened no window');
  const asked = await b.request('/reconcile', { form: { reason: 'operator check', csrf } });
  t.equal(asked.status, 303);
  t.match(asked.headers.get('location'), /^\/runs\/r-/);
  t.equal(s.airgap.stats().windows, windowsBefore + 1, 'the operator request opened one window');
  const history = await b.request('/airgap');
  t.match(history.text, /<td>operator check<\/td><td>alice<\/td>/, 'the reason and the operator who asked are in the air-gap history');
  const audit = (await readFile(s.auditLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const opened = audit.filter((e) => e.event === 'open' && e.reason === 'operator check');
  t.equal(opened.length, 1, 'one window opened for the request');
  t.equal(opened[0]!.operator, 'alice', "the controller's audit names the logged-in operator (an operator's request, README §Policy)");
  t.match(history.text, /The gap is <strong class="ok">closed<\/strong>/);

  const out = await b.request('/logout', { form: { csrf } });
  t.equal(out.status, 303);
  t.equal((await b.request('/')).status, 303, 'logged out');
});

t.test('hostile values are escaped; forged, replayed-after-logout and expired cookies are refused', async (t) => {
  const s = await startScenario(t, { readings: 2n, tamper: 0 });
  const xss = '<script>alert(1)</script>';
  await s.collector.store.saveReport({
    ...s.report,
    id: 'r-20991231T235959999Z-deadbeef',
    items: [{ meterId: xss, seq: '1"><img src=x onerror=alert(2)>', outcome: 'tampered', collectedHash: '00', ledgerHash: `'${xss}`, detail: xss }],
  });
  const b = new Browserless(s.dashboardUrl);
  await b.login(OPERATOR.name, OPERATOR.password);
  const run = await b.request('/runs/r-20991231T235959999Z-deadbeef');
  t.equal(run.status, 200);
  t.notMatch(run.text, '<script>alert', 'no live script tag');
  t.notMatch(run.text, '<img src=x', 'no injected element');
  t.match(run.text, '&lt;script&gt;alert(1)&lt;/script&gt;');

  const session = b.cookies.get('ms_session')!;
  const [user, exp, nonce, mac] = session.split('.');
  for (const forged of [`bob.${exp}.${nonce}.${mac}`, `${user}.${Number(exp) + 1000}.${nonce}.${mac}`, `${user}.${exp}.${nonce}.${mac!.slice(0, -1)}A`, 'garbage']) {
    const f = new Browserless(s.dashboardUrl);
    f.cookies.set('ms_session', forged);
    t.equal((await f.request('/')).status, 303, `forged cookie ${forged.slice(0, 12)}… refused`);
  }
  const replay = new Browserless(s.dashboardUrl);
  replay.cookies.set('ms_session', session);
  t.equal((await replay.request('/')).status, 200);
  const csrf = Browserless.csrf((await b.request('/')).text);
  await b.request('/logout', { form: { csrf } });
  t.equal((await replay.request('/')).status, 303, 'a copied cookie dies with logout');

  let now = Date.now();
  const clocked = await startDashboard(
    { port: 0, sessionTtlMs: 60_000, operators: [{ name: 'op', passwordHash: hashPassword('pw') }] },
    { store: s.collector.store, stats: () => s.collector.stats(), log: silentLog, now: () => now },
  );
  t.teardown(() => clocked.close());
  const c = new Browserless(clocked.url);
  t.equal((await c.login('op', 'pw')).status, 303);
  t.equal((await c.request('/')).status, 200);
  now += 61_000;
  t.equal((await c.request('/')).status, 303, 'the session expired');
});

t.test('failed logins are rate-limited per address, even for the right password', async (t) => {
  const s = await startScenario(t, { readings: 1n, tamper: 0 });
  const limited = await startDashboard(
    { port: 0, loginMaxFailures: 3, operators: [{ name: 'op', passwordHash: hashPassword('pw') }] },
    { store: s.collector.store, stats: () => s.collector.stats(), log: silentLog },
  );
  t.teardown(() => limited.close());
  const b = new Browserless(limited.url);
  for (let i = 0; i < 3; i++) t.equal((await b.login('op', `guess${i}`)).status, 401);
  t.equal((await b.login('op', 'pw')).status, 429, 'locked out after 3 failures');
  t.equal((await b.login('someone-else', 'x')).status, 429, 'the address is locked for every name');
});
