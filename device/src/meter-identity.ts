// Issue 4 item 6: the physical meter's identity, pinned. The agent signs readings for one meter; if the
// meter on the line reports another identity (a swapped meter, a bus wired to the wrong device), signing
// stops until an operator clears the pin (device/README.md, "Meter identity and meter exchange").
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertMeterIdentity } from '@meterseal/protocol';
import type { Logger } from 'pino';
import { AgentError } from './errors.js';

export const PIN_FILE = 'meter-identity.json';

/** How the pinned identity was learned. */
export type PinSource = 'config' | 'first-read' | 'operator';

export interface MeterPin {
  identity: string;
  /** ISO-8601 UTC. */
  pinnedAt: string;
  source: PinSource;
  /** config meter.identity when the pin was written: a changed config value replaces the pin. */
  configured: string | null;
}

/** A meter exchange: the meter on the line is not the one pinned. */
export interface MeterExchange {
  expected: string;
  found: string;
  /** ISO-8601 UTC, when it was first noticed. */
  at: string;
}

export type IdentityVerdict = { ok: true } | { ok: false; exchange: MeterExchange };

function readPin(path: string): MeterPin | null {
  if (!existsSync(path)) return null;
  let pin: MeterPin;
  try {
    pin = JSON.parse(readFileSync(path, 'utf8')) as MeterPin;
    assertMeterIdentity(pin.identity);
    if (!['config', 'first-read', 'operator'].includes(pin.source)) throw new Error(`unknown source ${String(pin.source)}`);
    if (pin.configured !== null && typeof pin.configured !== 'string') throw new Error('configured must be a string or null');
  } catch (cause) {
    // Fail closed: a damaged pin must not silently become "pin whatever answers next".
    throw new AgentError('METER_PIN_UNREADABLE', `${path} is not a valid meter identity pin; an operator must fix or remove it`, { cause });
  }
  return pin;
}

/**
 * The pinned identity. Precedence: a pin written while config meter.identity had its current value (by an
 * operator's clear and re-pin, or by the first read) > config meter.identity > a pin from an earlier config.
 */
export class MeterIdentityPin {
  readonly #path: string;
  readonly #configured: string | null;
  readonly #log: Logger;
  #pin: MeterPin | null;
  #exchange: MeterExchange | null = null;
  #nextSource: PinSource = 'first-read';
  #warnedNoIdentity = false;

  constructor(dataDir: string, configured: string | undefined, log: Logger) {
    this.#path = join(dataDir, PIN_FILE);
    this.#configured = configured ?? null;
    this.#log = log;
    if (this.#configured !== null) assertMeterIdentity(this.#configured);
    const pin = readPin(this.#path);
    if (pin && pin.configured === this.#configured) this.#pin = pin;
    else if (this.#configured !== null) {
      this.#pin = this.#write({ identity: this.#configured, source: 'config' });
      log.info({ meterIdentity: this.#configured, replaced: pin?.identity ?? null }, 'meter identity provisioned from config meter.identity');
    } else this.#pin = pin;
    if (this.#pin) log.info({ meterIdentity: this.#pin.identity, source: this.#pin.source }, 'meter identity pinned');
  }

  /** The identity readings must come from, or null until the first read pins one. */
  get expected(): string | null {
    return this.#pin?.identity ?? null;
  }

  get pin(): MeterPin | null {
    return this.#pin;
  }

  /** The meter exchange that stopped signing, or null. */
  get exchange(): MeterExchange | null {
    return this.#exchange;
  }

  /**
   * Checks the identity one scan reported. Pins it when nothing is pinned yet. A mismatch, or any scan
   * while an exchange is unresolved, is refused: the caller must not sign or queue the reading.
   */
  check(found: string | null, atMs: number): IdentityVerdict {
    if (this.#exchange) return { ok: false, exchange: this.#exchange };
    if (found === null) {
      if (this.#pin && !this.#warnedNoIdentity) {
        this.#warnedNoIdentity = true;
        this.#log.warn({ expected: this.#pin.identity }, 'the meter reports no identity: the pin cannot be verified on this line');
      }
      return { ok: true };
    }
    if (!this.#pin) {
      this.#pin = this.#write({ identity: found, source: this.#nextSource });
      this.#log.info({ meterIdentity: found, source: this.#pin.source, file: this.#path }, 'meter identity pinned from the first read');
      return { ok: true };
    }
    if (found === this.#pin.identity) return { ok: true };
    this.#exchange = { expected: this.#pin.identity, found, at: new Date(atMs).toISOString() };
    this.#log.error(
      { event: 'meter-exchange', expected: this.#pin.identity, found },
      'meter exchange: the meter on the line is not the pinned meter; signing stopped until an operator clears the pin',
    );
    return { ok: false, exchange: this.#exchange };
  }

  /**
   * The operator action after a meter exchange (or to re-provision): forgets the pin and the exchange; the
   * next scan pins whatever identity it reads (recorded as source "operator").
   */
  clear(operatorNote = ''): { cleared: MeterPin | null } {
    const cleared = this.#pin;
    rmSync(this.#path, { force: true });
    this.#log.warn({ cleared: cleared?.identity ?? null, exchange: this.#exchange, note: operatorNote }, 'meter identity pin cleared by an operator');
    this.#pin = null;
    this.#exchange = null;
    this.#nextSource = 'operator';
    this.#warnedNoIdentity = false;
    return { cleared };
  }

  #write(p: { identity: string; source: PinSource }): MeterPin {
    const pin: MeterPin = { identity: p.identity, pinnedAt: new Date().toISOString(), source: p.source, configured: this.#configured };
    const tmp = `${this.#path}.tmp`;
    writeFileSync(tmp, JSON.stringify(pin, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.#path); // atomic: a crash leaves the old pin or the new one, never half of one
    return pin;
  }
}
