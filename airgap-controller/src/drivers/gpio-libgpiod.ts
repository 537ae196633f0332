// GPIO through the character device with the libgpiod v2 command-line tools. A line requested over
// /dev/gpiochipN reverts to its default when the requesting process exits (gpioset(1), *Note*), so the
// level is held by a long-running `gpioset` child; changing the level replaces the child. There is no
// electrical read-back through the tools while the line is held, so get() reports the level the live
// holder was started with, and fails if the holder has died (the line is then undefined).
// Fail-closed on a crash: gpioset runs under a tiny keeper process that holds a pipe from this one; when the
// pipe reaches EOF (this process died, however) the keeper ends gpioset, so the line is released and reverts
// to its default — wire the relay so that a released line means de-energised (README "gpio: wiring a relay").
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { AirgapError } from '../errors.js';
import type { GpioLine, Level } from './gpio-line.js';

const CHIP = /^gpiochip[0-9]{1,3}$/;
const CONSUMER = 'meterseal-airgap';

/** Runs argv[1..] (gpioset ...) and ends it when stdin ends (our death) or on SIGTERM/SIGHUP; exits with it. */
const KEEPER = `const { spawn } = require('node:child_process');
const [file, ...args] = process.argv.slice(1);
const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'inherit'] });
const stop = () => { try { child.kill('SIGTERM'); } catch {} };
process.on('SIGTERM', stop); process.on('SIGHUP', stop); process.on('SIGINT', () => {});
process.stdin.on('end', stop); process.stdin.on('error', stop); process.stdin.resume();
child.on('error', (err) => { process.stderr.write(String(err.message)); process.exit(127); });
child.on('exit', (code) => process.exit(code ?? 1));`;

export interface LibgpiodLineOptions {
  chip: string;
  line: number;
  /** Path of gpioset (default: `gpioset` on PATH). */
  gpiosetPath?: string;
  /** How long a fresh gpioset must stay alive to count as holding the line (default 200 ms). */
  settleMs?: number;
}

/** True when `gpioset --version` runs (used by the tests to decide whether to skip). */
export function hasGpioset(path = 'gpioset'): Promise<boolean> {
  return new Promise((resolve) => execFile(path, ['--version'], { timeout: 5_000 }, (err) => resolve(err === null)));
}

export class LibgpiodLine implements GpioLine {
  readonly #options: Required<LibgpiodLineOptions>;
  #holder: { child: ChildProcess; value: Level; exited: boolean } | undefined;

  constructor(options: LibgpiodLineOptions) {
    if (!CHIP.test(options.chip)) throw new AirgapError('CONFIG_INVALID', 'gpio chip must look like "gpiochip0"');
    if (!Number.isInteger(options.line) || options.line < 0) throw new AirgapError('CONFIG_INVALID', 'gpio line must be a non-negative integer');
    this.#options = { gpiosetPath: 'gpioset', settleMs: 200, ...options };
  }

  async set(value: Level): Promise<void> {
    await this.#release();
    const { gpiosetPath, chip, line, settleMs } = this.#options;
    // argv only, no shell: gpioset -c gpiochip0 -C meterseal-airgap 17=1 (runs until killed).
    // (through the keeper, so the holder cannot outlive this process)
    const child = spawn(process.execPath, ['-e', KEEPER, gpiosetPath, '-c', chip, '-C', CONSUMER, `${line}=${value}`], { stdio: ['pipe', 'ignore', 'pipe'] });
    const holder = { child, value, exited: false };
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-1000)));
    const failed = await new Promise<Error | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), settleMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        resolve(err);
      });
      child.once('exit', (code, signal) => {
        holder.exited = true;
        clearTimeout(timer);
        resolve(new Error(`gpioset exited (${code ?? signal}): ${stderr.trim()}`));
      });
    });
    if (failed) throw new AirgapError('DRIVER_FAILED', `gpioset ${chip} ${line}=${value} failed`, { cause: failed });
    this.#holder = holder;
  }

  async get(): Promise<Level> {
    const holder = this.#holder;
    if (!holder || holder.exited) throw new AirgapError('DRIVER_FAILED', 'no gpioset process holds the line; its level is undefined');
    return holder.value;
  }

  async close(): Promise<void> {
    await this.#release();
  }

  /** The holder dies with this process (the keeper above), which releases the line: nothing else to run. */
  failSafeCommands(): string[][] {
    return [];
  }

  async #release(): Promise<void> {
    const holder = this.#holder;
    this.#holder = undefined;
    if (!holder || holder.exited) return;
    const exited = new Promise<void>((resolve) => holder.child.once('exit', () => resolve()));
    holder.child.kill('SIGTERM');
    await exited;
  }
}
