import type { Logger } from 'pino';
import { AirgapError } from '../errors.js';
import { DeadMan } from './dead-man.js';
import type { AirgapDriver, Endpoint } from './driver.js';
import type { GpioLine, Level } from './gpio-line.js';

export interface GpioDriverOptions {
  line: GpioLine;
  /** true: the relay is energised (cable connected) when the line is high; false: when it is low. */
  activeHigh: boolean;
  /** The ledger API that the physical link makes reachable during a window. */
  target: Endpoint;
  log: Logger;
}

/**
 * The `gpio` driver: a relay on a GPIO line physically connects the collector's cable to the ledger
 * network only during a window. open() energises the relay and reads the line back; close() de-energises
 * and reads back. Fail-safe: at start (init) and on any error the line is driven to the disconnected level;
 * a read-back that disagrees fails the open (DRIVER_FAILED), so no window opens on a relay we cannot vouch
 * for. It carries no traffic itself: open() returns the configured ledger endpoint.
 * Fail-closed on a crash of the controller (README §Policy): before energising, a dead-man watchdog
 * (dead-man.ts) is armed with the line's own fail-safe commands, so if this process dies during a window the
 * watchdog drives the line to the disconnected level; an orderly close disarms it.
 */
export class GpioDriver implements AirgapDriver {
  readonly name = 'gpio';
  readonly #line: GpioLine;
  readonly #connected: Level;
  readonly #disconnected: Level;
  readonly #target: Endpoint;
  readonly #log: Logger;
  /** True from the moment we start energising until a de-energised read-back proves otherwise. */
  #open = false;
  #deadMan: DeadMan | undefined;

  constructor(options: GpioDriverOptions) {
    this.#line = options.line;
    this.#connected = options.activeHigh ? 1 : 0;
    this.#disconnected = options.activeHigh ? 0 : 1;
    this.#target = { ...options.target };
    this.#log = options.log;
  }

  isOpen(): boolean {
    return this.#open;
  }

  /** Fail-safe at controller start: disconnected, verified. */
  async init(): Promise<void> {
    this.#open = true; // unknown until proven disconnected
    await this.close();
  }

  async open(): Promise<Endpoint> {
    if (this.#open) throw new AirgapError('DRIVER_STATE', 'the relay is already energised');
    this.#open = true;
    try {
      const failSafe = this.#line.failSafeCommands?.(this.#disconnected) ?? [];
      if (failSafe.length > 0) this.#deadMan = await DeadMan.arm(failSafe);
      await this.#line.set(this.#connected);
      const readBack = await this.#line.get();
      if (readBack !== this.#connected) {
        throw new AirgapError('DRIVER_FAILED', `gpio read-back ${readBack} after driving ${this.#connected}: relay state unverified`);
      }
    } catch (cause) {
      await this.#failSafe();
      throw cause instanceof AirgapError ? cause : new AirgapError('DRIVER_FAILED', 'gpio open failed', { cause });
    }
    return { ...this.#target };
  }

  /** De-energises and verifies; on a failed verification tries once more, then reports DRIVER_FAILED. */
  async close(): Promise<void> {
    if (!this.#open) return;
    let lastError: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.#line.set(this.#disconnected);
        const readBack = await this.#line.get();
        if (readBack === this.#disconnected) {
          this.#open = false;
          this.#deadMan?.disarm(); // the gap is closed by us: the watchdog must not act later
          this.#deadMan = undefined;
          return;
        }
        lastError = new AirgapError('DRIVER_FAILED', `gpio read-back ${readBack} after driving ${this.#disconnected}`);
      } catch (err) {
        lastError = err;
      }
    }
    throw new AirgapError('DRIVER_FAILED', 'the relay could not be verified de-energised', { cause: lastError });
  }

  /** Shutdown: leave the relay de-energised, then release the line. */
  async dispose(): Promise<void> {
    this.#open = true;
    try {
      await this.close();
    } finally {
      await this.#line.close();
    }
  }

  async #failSafe(): Promise<void> {
    try {
      await this.close();
    } catch (err) {
      this.#log.fatal({ err }, 'gpio: could not verify the relay de-energised after a failure');
    }
  }
}
