// Fuzzing the operator dashboard's HTTP inputs (issue 8 item 2) on a started dashboard (127.0.0.1, port 0,
// a real SQLite collector store in a temp dir): the login form (token, user, password), the Cookie header,
// page paths (/meters/<id>, /runs/<id>) and their query (?obis=), and the forms of a logged-in operator.
// Every answer is below 500: hostile input is a 4xx page or a redirect, never an internal error.
import t from 'tap';
import fc from 'fast-check';
import pino from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzParams } from '@meterseal/protocol';
import { openSqliteStore } from '../sqlite-store.js';
import { StatsCounter } from '../stats.js';
import { hashPassword } from './auth.js';
import { startDashboard } from './server.js';

const text = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', 'ops', 'ops.1', '%', '%zz', '%E0%A4%A', '..', '/', 'a'.repeat(300), '\u0000', '<script>', '1.0.1.8.0.255'),
);
// what fetch lets through as a header value (the server sees only such bytes from a real client too)
const headerText = text.map((s) => s.replace(/[^\x20-\x7e]/g, '').trim());
const pathSeg = fc.oneof(text.map(encodeURIComponent), fc.constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF', '%00', '..', 'M-1', 'r-1'));

t.test('dashboard: random login forms, cookies, paths and forms never give a 5xx', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = openSqliteStore(dir);
  t.teardown(() => store.close());
  const stats = new StatsCounter();
  const dash = await startDashboard(
    { port: 0, operators: [{ name: 'ops', passwordHash: hashPassword('correct horse') }], loginMaxFailures: 1000 },
    { store, stats: () => stats.snapshot(), log: pino({ level: 'silent' }) },
  );
  t.teardown(() => dash.close());

  const cookies = new Map<string, string>();
  const request = async (path: string, o: { form?: Record<string, string>; rawBody?: string; cookie?: string; type?: string } = {}) => {
    const headers: Record<string, string> = {};
    const jar = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (o.cookie !== undefined || jar) headers.cookie = o.cookie ?? jar;
    let body: string | undefined;
    if (o.form || o.rawBody !== undefined) {
      headers['content-type'] = o.type ?? 'application/x-www-form-urlencoded';
      body = o.rawBody ?? new URLSearchParams(o.form).toString();
    }
    const res = await fetch(dash.url + path, { method: body === undefined ? 'GET' : 'POST', headers, body, redirect: 'manual' });
    if (o.cookie === undefined) {
      for (const c of res.headers.getSetCookie()) {
        const pair = c.split(';')[0]!;
        const i = pair.indexOf('=');
        if (pair.slice(i + 1) === '') cookies.delete(pair.slice(0, i));
        else cookies.set(pair.slice(0, i), pair.slice(i + 1));
      }
    }
    await res.arrayBuffer();
    if (res.status >= 500) throw new Error(`${res.status} for ${path}`);
    return res.status;
  };

  // anonymous: login forms (with and without the real token), raw bodies, other content types, cookies
  await fc.assert(
    fc.asyncProperty(fc.record({ token: text, user: text, password: text }, { requiredKeys: [] }), fc.boolean(), fc.oneof(fc.constant(undefined), headerText, fc.constantFrom('ms_login=x', 'ms_session=ops.1.x.y', 'ms_session=' + 'a'.repeat(300), '=;;=')), fc.constantFrom('application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data'), async (form, realToken, cookie, type) => {
      if (realToken) {
        const page = await fetch(`${dash.url}/login`);
        form.token = /name="token" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
      }
      const status = await request('/login', { form: form as Record<string, string>, type, ...(cookie !== undefined ? { cookie } : {}) });
      return status === 200 || status === 303 || (status >= 400 && status < 500);
    }),
    fuzzParams(150),
  );
  await fc.assert(fc.asyncProperty(text, headerText, async (raw, cookie) => (await request('/login', { rawBody: raw, cookie })) < 500), fuzzParams(100));

  // logged in: page paths, queries and forms
  cookies.clear();
  const page = await fetch(`${dash.url}/login`);
  const token = /name="token" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  cookies.set('ms_login', page.headers.getSetCookie().find((c) => c.startsWith('ms_login='))?.split(';')[0]!.slice(9) ?? '');
  t.equal(await request('/login', { form: { token, user: 'ops', password: 'correct horse' } }), 303, 'logged in');
  t.equal(await request('/meters'), 200, 'a page');
  // regression (found by this fuzz test): a malformed percent-encoding in /meters/<id> threw URIError → 500
  t.equal(await request('/meters/%'), 400, '/meters/% is a 400');
  t.equal(await request('/meters/%E0%A4%A'), 400, 'a cut UTF-8 sequence is a 400');
  let notFound = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('/meters/', '/runs/', '/', '/airgap/', '/witness/', '/nope/'), pathSeg, fc.oneof(fc.constant(''), text.map((q) => `?obis=${encodeURIComponent(q)}`), pathSeg.map((q) => `?obis=${q}`)), async (p, seg, q) => {
      const status = await request(`${p}${seg}${q}`);
      if (status === 404) notFound++;
      return status < 500;
    }),
    fuzzParams(200),
  );
  t.ok(notFound > 0, `${notFound} unknown pages answered 404`);
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('/runs', '/meters', '/airgap', '/nope'), fc.record({ csrf: text, reason: text }, { requiredKeys: [] }), async (p, form) => (await request(p, { form: form as Record<string, string> })) < 500),
    fuzzParams(100),
  );
  t.pass('no 5xx');
});
