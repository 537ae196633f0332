// Fail-closed if the controller itself dies during a window (kill -9, OOM, a crash): a tiny watchdog process,
// started before the gap is bridged, holds the read end of a pipe from the controller. When that pipe reaches
// EOF — which the kernel guarantees when the controller's process ends, however it ends — the watchdog runs
// the "close the gap" commands (execFile, no shell) and exits. On an orderly close the controller closes the
// gap itself and kills the watchdog first, so a later window is never taken down by a stale one.
import { spawn, type ChildProcess } from 'node:child_process';
import { AirgapError } from '../errors.js';

/** Runs each [file, ...args] once stdin ends (or on SIGTERM/SIGHUP), each bounded at 10 s, then exits. */
const WATCHDOG = `const { execFileSync } = require('node:child_process');
const commands = JSON.parse(process.argv[1]);
let done = false;
const fire = () => {
  if (done) return; done = true;
  for (const [file, ...args] of commands) { try { execFileSync(file, args, { stdio: 'ignore', timeout: 10000 }); } catch {} }
  process.exit(0);
};
process.on('SIGTERM', fire); process.on('SIGHUP', fire); process.on('SIGINT', () => {});
process.stdin.on('end', fire); process.stdin.on('error', fire); process.stdin.resume();
process.stdout.write('armed\\n');`;

export class DeadMan {
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  /** Starts the watchdog and resolves once it is listening for the controller's end. */
  static async arm(commands: readonly (readonly string[])[]): Promise<DeadMan> {
    // detached: its own process group, so a signal to the controller's group (Ctrl-C) does not take it along
    const child = spawn(process.execPath, ['-e', WATCHDOG, JSON.stringify(commands)], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    await new Promise<void>((resolve, reject) => {
      const fail = (cause: unknown): void => reject(new AirgapError('DRIVER_FAILED', 'the fail-closed watchdog did not start', { cause }));
      child.once('error', fail);
      child.once('exit', (code) => fail(new Error(`exited with ${code}`)));
      child.stdout!.once('data', () => {
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        resolve();
      });
    });
    child.stdout!.destroy();
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    return new DeadMan(child);
  }

  /** The gap is closed by the controller: end the watchdog without it acting. */
  disarm(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}
