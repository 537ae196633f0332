// Helpers for system tests: real `meterseal` processes, free loopback ports, waiting on log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../cli/bin/meterseal.js', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Proc {
  child: ChildProcess;
  /** Every stderr line so far (pino JSON lines and anything else). */
  lines: string[];
  stdout: () => string;
  /** Resolves with the first log line whose `msg` equals `msg` (or includes it). */
  waitFor(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function meterseal(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let out = '';
  let buf = '';
  const listeners = new Set<(line: string) => void>();
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const l of listeners) l(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    stdout: () => out,
    exited,
    waitFor(msg, timeoutMs = 20_000) {
      const match = (line: string): Record<string, unknown> | null => {
        try {
          const j = JSON.parse(line) as Record<string, unknown>;
          return typeof j.msg === 'string' && j.msg.includes(msg) ? j : null;
        } catch {
          return null;
        }
      };
      for (const l of lines) {
        const m = match(l);
        if (m) return Promise.resolve(m);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(on);
          reject(new Error(`timed out waiting for "${msg}" from meterseal ${args[0]}; last lines:\n${lines.slice(-10).join('\n')}`));
        }, timeoutMs);
        const on = (line: string): void => {
          const m = match(line);
          if (!m) return;
          clearTimeout(timer);
          listeners.delete(on);
          resolve(m);
        };
        listeners.add(on);
        void exited.then((code) => {
          if (!listeners.has(on)) return;
          clearTimeout(timer);
          listeners.delete(on);
          reject(new Error(`meterseal ${args[0]} exited (${code}) before "${msg}"; last lines:\n${lines.slice(-10).join('\n')}`));
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs `meterseal ARGS` to completion (a one-shot command such as verify): exit code, stdout, stderr lines. */
export async function runMeterseal(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = meterseal(args);
  const code = await new Promise<number | null>((resolve) => p.child.once('close', (c) => resolve(c))); // stdio drained
  return { code, stdout: p.stdout(), stderr: p.lines.join('\n') };
}

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting until ${what}`);
}
