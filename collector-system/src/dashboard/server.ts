// The operator's dashboard: a small node:http server (loopback by default) behind an operator login.
// Pages are rendered on the server; state-changing requests are POSTs carrying a CSRF token; the session
// cookie is signed, HttpOnly, SameSite=Strict and expires (auth.ts).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { airgapStatus, readAuditTail, type AirgapStatusView } from '@meterseal/airgap-controller';
import { CollectorError, describe } from '../errors.js';
import type { Report } from '../report.js';
import type { CollectorStats } from '../stats.js';
import type { CollectorStore } from '../store.js';
import { LoginLimiter, SessionSigner, hashPassword, parseCookies, verifyPassword, type Session } from './auth.js';
import { DashboardConfigSchema, UsersFileSchema, type DashboardConfigInput } from './config.js';
import { Html, html, page } from './html.js';
import { airgapPage, witnessPage } from './ops-pages.js';
import { errorBox, meterPage, meterRows, metersPage, runPage, runsPage } from './pages.js';

export interface DashboardDeps {
  store: CollectorStore;
  stats(): CollectorStats;
  /** Operator-requested reconciliation: opens an air-gap window with the operator's reason. */
  /** An operator's own request: `operator` is the logged-in user, so the air-gap controller grants it outside the schedule and records the name. */
  reconcile?(reason: string, operator: string): Promise<Report>;
  /** The air-gap controller's control port, for its live status. */
  airgap?: { host: string; port: number };
  /** The collector's witness state (cosignatures, alarms), when it has one. */
  witness?(): Promise<Record<string, unknown> | null>;
  log: Logger;
  now?: () => number;
}

export interface DashboardHandle {
  url: string;
  close(): Promise<void>;
}

const SESSION_COOKIE = 'ms_session';
const PRE_COOKIE = 'ms_login';
const MAX_BODY = 8 * 1024;
const REPORTS_LISTED = 100;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function loadOperators(config: ReturnType<typeof DashboardConfigSchema.parse>): Map<string, string> {
  const users = new Map(config.operators.map((o) => [o.name, o.passwordHash]));
  if (config.usersFile !== undefined) {
    let parsed;
    try {
      parsed = UsersFileSchema.parse(JSON.parse(readFileSync(config.usersFile, 'utf8')));
    } catch (cause) {
      throw new CollectorError('CONFIG_INVALID', `dashboard usersFile ${config.usersFile} is not {"operators":[{name,passwordHash}]}`, { cause });
    }
    for (const o of parsed.operators) users.set(o.name, o.passwordHash);
  }
  if (users.size === 0) throw new CollectorError('CONFIG_INVALID', 'the dashboard is enabled but no operator is configured (dashboard.operators or dashboard.usersFile)');
  return users;
}

function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') return reject(new HttpError(415, 'forms only (application/x-www-form-urlencoded)'));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, `request body over ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

export async function startDashboard(configInput: DashboardConfigInput, deps: DashboardDeps): Promise<DashboardHandle> {
  const config = DashboardConfigSchema.parse(configInput);
  const operators = loadOperators(config);
  const secret = config.sessionSecretFile ? readFileSync(config.sessionSecretFile) : randomBytes(32);
  const signer = new SessionSigner(secret);
  const limiter = new LoginLimiter(config.loginMaxFailures, config.loginWindowMs);
  const revoked = new Map<string, number>(); // logged-out session nonces → expiry
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: 'dashboard' });
  const dummyHash = hashPassword(randomBytes(16).toString('hex')); // equal work for unknown names

  const cookie = (name: string, value: string, maxAgeS: number): string =>
    `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${config.secureCookie ? '; Secure' : ''}`;

  function send(res: ServerResponse, status: number, body: string, headers: Record<string, string | string[]> = {}): void {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      // no external resources at all; the only script is the inline one carrying this response's nonce
      'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${headers['x-nonce'] ?? 'none'}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
      ...Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'x-nonce')),
    });
    res.end(body);
  }
  const redirect = (res: ServerResponse, to: string, headers: Record<string, string | string[]> = {}): void => {
    res.writeHead(303, { location: to, 'cache-control': 'no-store', ...headers });
    res.end();
  };

  function session(req: IncomingMessage): Session | null {
    const s = signer.check(parseCookies(req.headers.cookie).get(SESSION_COOKIE), now());
    if (!s || revoked.has(s.nonce)) return null;
    return s;
  }

  function loginPage(res: ServerResponse, message?: string, status = 200): void {
    const pre = randomBytes(16).toString('base64url');
    const body = html`<h1>Operator login</h1>${message ? errorBox(message) : ''}
<form method="post" action="/login" id="login"><input type="hidden" name="token" value="${signer.loginToken(pre)}">
<p><label>Operator <input name="user" autocomplete="username" required maxlength="64"></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="256"></label></p>
<button>Log in</button></form>`;
    send(res, status, page('Log in', body), { 'set-cookie': cookie(PRE_COOKIE, pre, 600) });
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readBody(req);
    const user = (form.get('user') ?? '').slice(0, 64);
    const password = (form.get('password') ?? '').slice(0, 256);
    const keys = [`addr:${req.socket.remoteAddress ?? '?'}`, `user:${user}`];
    if (!signer.checkLoginToken(parseCookies(req.headers.cookie).get(PRE_COOKIE), form.get('token'))) {
      return loginPage(res, 'The login form expired; please try again.', 403);
    }
    if (!limiter.allowed(keys, now())) {
      log.warn({ remote: req.socket.remoteAddress }, 'dashboard login rate-limited');
      return loginPage(res, 'Too many failed logins; wait and try again.', 429);
    }
    const stored = operators.get(user);
    const ok = verifyPassword(password, stored ?? dummyHash) && stored !== undefined;
    if (!ok) {
      limiter.fail(keys, now());
      log.warn({ remote: req.socket.remoteAddress }, 'dashboard login failed');
      return loginPage(res, 'Unknown operator or wrong password.', 401);
    }
    limiter.succeed(keys);
    const { cookie: value } = signer.issue(user, config.sessionTtlMs, now());
    log.info({ user }, 'operator logged in');
    redirect(res, '/', { 'set-cookie': [cookie(SESSION_COOKIE, value, Math.floor(config.sessionTtlMs / 1000)), cookie(PRE_COOKIE, '', 0)] });
  }

  async function authed(req: IncomingMessage, res: ServerResponse, s: Session, url: URL): Promise<void> {
    const csrf = signer.csrfToken(s);
    const nonce = randomBytes(12).toString('base64url');
    const show = (title: string, body: Html, status = 200): void =>
      send(res, status, page(title, html`${body}<script nonce="${nonce}">${new Html(SCRIPT)}</script>`, { user: s.user, csrf }), { 'x-nonce': nonce });
    const path = url.pathname;
    if (req.method === 'POST') {
      const form = await readBody(req);
      if (!signer.checkCsrf(s, form.get('csrf'))) throw new HttpError(403, 'missing or wrong CSRF token');
      if (path === '/logout') {
        revoked.set(s.nonce, s.expiresAtMs);
        return redirect(res, '/login', { 'set-cookie': cookie(SESSION_COOKIE, '', 0) });
      }
      if (path === '/reconcile' && deps.reconcile) {
        const reason = (form.get('reason') ?? '').trim();
        if (reason.length < 1 || reason.length > 200 || /[\u0000-\u001f\u007f]/.test(reason)) throw new HttpError(400, 'a reason of 1..200 printable characters is required');
        log.info({ user: s.user, reason }, 'operator requested a reconciliation');
        try {
          const report = await deps.reconcile(reason, s.user);
          return redirect(res, `/runs/${encodeURIComponent(report.id)}`);
        } catch (err) {
          return show('Reconciliation', runsPage(await recentReports(), csrf, true, errorBox(`The reconciliation failed: ${describe(err)}`)), 502);
        }
      }
      throw new HttpError(404, 'no such action');
    }
    if (req.method !== 'GET') throw new HttpError(405, 'method not allowed');
    if (path === '/' || path === '/meters') {
      const rows = await meterRows(deps.store, now(), config.silentAfterMs);
      return show('Meters', metersPage(rows, deps.stats(), config.silentAfterMs));
    }
    const meter = /^\/meters\/([^/]{1,200})$/.exec(path);
    if (meter) {
      let id: string;
      try {
        id = decodeURIComponent(meter[1]!);
      } catch {
        throw new HttpError(400, 'the meter id in the path is not percent-encoded UTF-8'); // found by dashboard.fuzz.test.ts
      }
      const body = await meterPage(deps.store, id, url.searchParams.get('obis') ?? undefined);
      if (!body) throw new HttpError(404, `no readings stored for meter ${id}`);
      return show(`Meter ${id}`, body);
    }
    if (path === '/runs') return show('Reconciliation', runsPage(await recentReports(), csrf, deps.reconcile !== undefined));
    const run = /^\/runs\/([A-Za-z0-9._-]{1,100})$/.exec(path);
    if (run) {
      const report = await deps.store.getReport(run[1]!);
      if (!report) throw new HttpError(404, 'no such reconciliation run');
      return show(`Run ${report.id}`, await runPage(deps.store, report));
    }
    if (path === '/airgap') {
      let status: AirgapStatusView | { error: string } = { error: 'no controller configured' };
      if (deps.airgap) status = await airgapStatus(deps.airgap).catch((err: unknown) => ({ error: describe(err) }));
      const history = config.airgapAuditLog ? readAuditTail(config.airgapAuditLog, 100) : [];
      return show('Air gap', airgapPage(status, history));
    }
    if (path === '/witness') {
      let state = deps.witness ? await deps.witness() : null;
      if (state === null) {
        // the collector's own witness results travel in its reports (report.witness): show the newest
        for (const r of await recentReports()) {
          if (r.witness) {
            state = { run: r.id, checkpointSize: r.checkpoint.size, ...r.witness };
            break;
          }
        }
      }
      return show('Witness', witnessPage(state));
    }
    throw new HttpError(404, 'no such page');
  }

  async function recentReports(): Promise<Report[]> {
    const out: Report[] = [];
    for (const id of (await deps.store.reportIds()).slice(0, REPORTS_LISTED)) {
      const r = await deps.store.getReport(id);
      if (r) out.push(r);
    }
    return out;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    for (const [nonce, exp] of revoked) if (exp <= now()) revoked.delete(nonce);
    if (url.pathname === '/login') {
      if (req.method === 'GET') return loginPage(res);
      if (req.method === 'POST') return login(req, res);
      throw new HttpError(405, 'method not allowed');
    }
    const s = session(req);
    if (!s) {
      if (req.method === 'GET') return redirect(res, '/login');
      throw new HttpError(401, 'log in first');
    }
    return authed(req, res, s, url);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) log.error({ err: describe(err) }, 'dashboard request failed');
      if (!res.headersSent) send(res, status, page('Error', html`<h1>Error ${status}</h1>${errorBox(status === 500 ? 'internal error' : (err as Error).message)}<p><a href="/">Back</a></p>`));
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) => reject(new CollectorError('LISTEN_FAILED', `the dashboard cannot listen on ${config.host}:${config.port}`, { cause })));
    server.listen({ host: config.host, port: config.port }, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  log.info({ url }, 'dashboard listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The only script: filters a run's divergences by kind, client-side. */
const SCRIPT = `const f=document.getElementById('kind-filter');if(f)f.addEventListener('change',()=>{for(const r of document.querySelectorAll('tr.divergence'))r.hidden=!!f.value&&r.dataset.kind!==f.value;});`;
