// A connected pair of pseudo-terminals from socat: two real serial devices (/dev/pts/N) wired back to back.
import { spawn, type ChildProcess } from 'node:child_process';
import { SimulatorError } from './errors.js';

export interface PtyPair {
  a: string;
  b: string;
  /** Stops socat (both ptys disappear). Idempotent. */
  close(): Promise<void>;
}

// socat -d -d prints "... N PTY is /dev/pts/3" once per address, then "... N starting data transfer loop".
const PTY_LINE = /PTY is (\/dev\/pts\/\d+)/;
const READY_LINE = /starting data transfer loop/;

/** True when a `socat` binary can be run. */
export function socatAvailable(socat = 'socat'): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(socat, ['-V'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface PtyPairOptions {
  timeoutMs?: number;
  socat?: string;
  /** Symlinks socat creates to each end (like a stable /dev/serial/by-id/… name); removed when socat exits. */
  links?: { a?: string; b?: string };
}

/** socat's pty address; a link path must not contain socat's address separators. */
function ptyAddress(link: string | undefined): string {
  if (link === undefined) return 'pty,raw,echo=0';
  if (/[,:!"'\\]/.test(link)) throw new SimulatorError('PTY_FAILED', `pty link path ${JSON.stringify(link.slice(0, 200))} contains a socat separator`);
  return `pty,raw,echo=0,link=${link}`;
}

export function createPtyPair(options: PtyPairOptions = {}): Promise<PtyPair> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const child = spawn(options.socat ?? 'socat', ['-d', '-d', ptyAddress(options.links?.a), ptyAddress(options.links?.b)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const close = (): Promise<void> => stop(child);
  return new Promise<PtyPair>((resolve, reject) => {
    const paths: string[] = [];
    let log = '';
    let pending = '';
    let settled = false;
    const fail = (err: SimulatorError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void close().then(() => reject(err));
    };
    const timer = setTimeout(() => {
      fail(new SimulatorError('PTY_TIMEOUT', `socat did not report two ptys within ${timeoutMs} ms; stderr: ${log.slice(-500)}`));
    }, timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code === 'ENOENT' ? 'SOCAT_MISSING' : 'PTY_FAILED';
      fail(new SimulatorError(code, `cannot run socat: ${err.message} (apt-get install socat)`, { cause: err }));
    });
    child.on('exit', (code, signal) => {
      fail(new SimulatorError('PTY_FAILED', `socat exited (${code ?? signal}) before the ptys were ready: ${log.slice(-500)}`));
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      if (settled) return; // keep draining so socat never blocks on a full pipe
      if (log.length < 8192) log += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const m = PTY_LINE.exec(line);
        if (m) paths.push(m[1]!);
        if (READY_LINE.test(line) && paths.length === 2) {
          settled = true;
          clearTimeout(timer);
          resolve({ a: paths[0]!, b: paths[1]!, close });
        }
      }
    });
  });
}
