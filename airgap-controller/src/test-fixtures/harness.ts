// Shared by the package's tests (not shipped through index.ts): a tiny HTTP "ledger", raw control-line
// clients for hostile input, and probes for "is anything listening on this port".
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, get, type ServerResponse } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AuditRecord } from '../audit.js';
import type { RelayConfigInput } from '../config.js';
import { startAirgap, type AirgapHandle } from '../controller.js';
import type { Endpoint } from '../drivers/driver.js';

export const silentLog = pino({ level: 'silent' });

/** What the tests need from tap's `t`. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Target {
  endpoint: Endpoint;
  /** Responses to GET /hold that have sent their first chunk and are being held open. */
  held: ServerResponse[];
}

/**
 * The ledger stand-in: GET /anything → 200 "ledger saw /anything"; GET /hold → 200, one chunk "held\n",
 * then the response stays open (for "an active relayed connection is cut").
 */
export async function startTarget(t: Teardown): Promise<Target> {
  const held: ServerResponse[] = [];
  const server = createHttpServer((req, res) => {
    if (req.url === '/hold') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('held\n');
      held.push(res);
      return;
    }
    res.end(`ledger saw ${req.url ?? ''}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return settles(new Promise<void>((resolve) => server.close(() => resolve())), 'the target to close');
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { endpoint: { host: '127.0.0.1', port: address.port }, held };
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no address');
  return address.port;
}

/** Connects to 127.0.0.1:port and reports "connected" or the error code (ECONNREFUSED when nothing listens). */
export function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** GET url with a fresh connection; resolves status and body. */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** A raw control connection: write anything, read the controller's lines one by one. */
export interface RawControl {
  socket: Socket;
  send(data: string | Uint8Array): void;
  /** The next line from the controller, JSON-parsed; rejects if the connection ends first. */
  next(): Promise<unknown>;
  /** Resolves when the controller has closed the connection. */
  closed: Promise<void>;
}

export async function rawControl(t: Teardown, control: Endpoint): Promise<RawControl> {
  const socket = connect(control);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  t.teardown(() => socket.destroy());
  const lines: unknown[] = [];
  const waiters: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  let buffered = '';
  let ended = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let i = buffered.indexOf('\n'); i !== -1; i = buffered.indexOf('\n')) {
      const value: unknown = JSON.parse(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
      const waiter = waiters.shift();
      if (waiter) waiter.resolve(value);
      else lines.push(value);
    }
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      ended = true;
      for (const waiter of waiters.splice(0)) waiter.reject(new Error('control connection closed'));
      resolve();
    }),
  );
  return {
    socket,
    closed,
    send: (data) => socket.write(data),
    next: () => {
      if (lines.length > 0) return Promise.resolve(lines.shift());
      if (ended) return Promise.reject(new Error('control connection closed'));
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
  };
}

/** A fresh audit-log path in a temp directory removed at teardown. */
export function tempAuditPath(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'airgap-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'audit', 'airgap.jsonl');
}

export function readAudit(path: string): AuditRecord[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as AuditRecord);
}

/** A controller in front of `target`, closed at teardown. */
export async function startController(
  t: Teardown,
  target: Endpoint,
  overrides: Partial<RelayConfigInput> = {},
): Promise<{ airgap: AirgapHandle; auditLog: string }> {
  const auditLog = overrides.auditLog ?? tempAuditPath(t);
  // the stand-in ledger's paths; the policy itself is tested in drivers/http-policy.test.ts
  const httpAllowlist = ['/hold', '/v1/log/sth', '/v1/proof'];
  const airgap = await startAirgap({ target, auditLog, httpAllowlist, ...overrides }, { log: silentLog });
  t.teardown(() => settles(airgap.close(), 'the controller to close'));
  return { airgap, auditLog };
}

/** Polls until cond() holds; fails after 5 s (a safety net for a hung test, not a timing assertion). */
export async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !cond(); waited += 10) {
    if (waited > 5_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves with `promise`, or fails after 5 s so a broken behaviour fails fast instead of hanging the run. */
export function settles<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up waiting for ${what}`)), 5_000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface FixtureProcess {
  child: ChildProcess;
  /** The fixture's first line on stdout (what it announces once ready). */
  line: string;
  /** Resolves with the signal that ended the process (null for a plain exit). */
  exited: Promise<NodeJS.Signals | null>;
}

/**
 * Runs `node --import tsx <script> ...args` (a test fixture in its own process, so a test can kill -9 it) and
 * resolves with its first stdout line. Killed in teardown if still alive. Startup may take seconds on a busy
 * machine (tsx compiles the fixture), hence the longer wait than settles().
 */
export async function startFixture(t: Teardown, script: string, args: string[], what: string): Promise<FixtureProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let timer: NodeJS.Timeout | undefined;
  const line = await new Promise<string>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up waiting for ${what}`)), 60_000);
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', (code, signal) => reject(new Error(`${what}: the fixture exited early (${String(code ?? signal)})`)));
  }).finally(() => clearTimeout(timer));
  return { child, line, exited };
}
