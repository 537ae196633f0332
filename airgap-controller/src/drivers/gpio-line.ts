// One GPIO output line, behind a small interface so the gpio driver can be tested against a simulated
// sysfs directory. Values here are physical levels (0 = low, 1 = high); the driver maps them through
// activeHigh.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirgapError } from '../errors.js';
import { LibgpiodLine } from './gpio-libgpiod.js';

export type Level = 0 | 1;

export interface GpioLine {
  /** Drives the line to `value` (configuring it as an output first if needed). */
  set(value: Level): Promise<void>;
  /** Reads the line's level back. */
  get(): Promise<Level>;
  /** Releases whatever the implementation holds. Does not change the level by itself. */
  close(): Promise<void>;
  /**
   * Fail-closed after a crash (README §Policy): argv lists that ANOTHER process can run, after this one has died
   * however it died, to drive the line to `level`. The gpio driver hands them to its dead-man watchdog before it
   * energises the relay. [] when the line needs no help (its holder dies with this process).
   */
  failSafeCommands?(level: Level): string[][];
}

export interface GpioLineConfig {
  backend: 'sysfs' | 'libgpiod';
  chip: string;
  line: number;
  sysfsRoot?: string | undefined;
}

export function openGpioLine(config: GpioLineConfig): GpioLine {
  return config.backend === 'sysfs'
    ? new SysfsGpioLine({ root: config.sysfsRoot ?? '/sys/class/gpio', line: config.line })
    : new LibgpiodLine({ chip: config.chip, line: config.line });
}

export function parseLevel(text: string, what: string): Level {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  if (trimmed === '1') return 1;
  throw new AirgapError('DRIVER_FAILED', `${what}: expected "0" or "1", read ${JSON.stringify(trimmed.slice(0, 20))}`);
}

/**
 * The legacy sysfs interface (Documentation/ABI/obsolete/sysfs-gpio): `export` the global GPIO number,
 * then `gpioN/direction` ← "low"/"high" (output with that initial level, glitch-free) and `gpioN/value`
 * ← "0"/"1". `root` is configurable so tests can point it at a temp directory laid out the same way.
 * The line stays exported and driven after close(): the kernel keeps an exported line's level.
 */
export class SysfsGpioLine implements GpioLine {
  readonly #dir: string;
  readonly #root: string;
  readonly #line: number;
  #configured = false;

  constructor({ root, line }: { root: string; line: number }) {
    if (!Number.isInteger(line) || line < 0) throw new AirgapError('CONFIG_INVALID', 'gpio line must be a non-negative integer');
    this.#root = root;
    this.#line = line;
    this.#dir = join(root, `gpio${line}`);
  }

  async set(value: Level): Promise<void> {
    try {
      if (!this.#configured) {
        await this.#export();
        // "low"/"high" make it an output already at that level (no glitch through the other one).
        await writeFile(join(this.#dir, 'direction'), value === 1 ? 'high' : 'low', { flag: 'r+' });
        this.#configured = true;
      }
      await writeFile(join(this.#dir, 'value'), String(value), { flag: 'r+' }); // r+: never create a file
    } catch (cause) {
      if (cause instanceof AirgapError) throw cause;
      throw new AirgapError('DRIVER_FAILED', `sysfs gpio${this.#line}: cannot set ${value}`, { cause });
    }
  }

  async get(): Promise<Level> {
    let text: string;
    try {
      text = await readFile(join(this.#dir, 'value'), 'utf8');
    } catch (cause) {
      throw new AirgapError('DRIVER_FAILED', `sysfs gpio${this.#line}: cannot read the value`, { cause });
    }
    return parseLevel(text, `sysfs gpio${this.#line}/value`);
  }

  async close(): Promise<void> {
    this.#configured = false;
  }

  /** The kernel keeps an exported line's level when we die, so the watchdog writes the value file itself. */
  failSafeCommands(level: Level): string[][] {
    // node -e CODE PATH VALUE: the path and value travel as argv (process.argv[1], [2]), never as code
    const code = "require('node:fs').writeFileSync(process.argv[1], process.argv[2], { flag: 'r+' })";
    return [[process.execPath, '-e', code, join(this.#dir, 'value'), String(level)]];
  }

  async #export(): Promise<void> {
    if (existsSync(this.#dir)) return;
    await writeFile(join(this.#root, 'export'), String(this.#line), { flag: 'r+' });
    // udev may take a moment to create the directory and fix its permissions.
    for (let waited = 0; !existsSync(join(this.#dir, 'value')); waited += 20) {
      if (waited >= 2_000) throw new AirgapError('DRIVER_FAILED', `sysfs: ${this.#dir} did not appear after export`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
