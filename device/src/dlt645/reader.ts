// Reads a DL/T 645-2007 meter: one read-data request (§7.1) per data identifier, one at a time (the line is
// half duplex, §5: master-slave), each answer checked for address, function and DI, values decoded exactly.
import type { Logger } from 'pino';
import type { Dlt645Profile } from '@meterseal/hardware';
import type { Sample } from '../reading-builder.js';
import type { MeterClock, MeterSnapshot } from '../meter/source.js';
import { DI_DATE, DI_TIME, STATE_GRID_UTC_OFFSET_MIN, broadcastTimeData, meterClockToUtc, parseMeterDate, parseMeterTime } from './clock.js';
import { Dlt645Error, type Dlt645ErrorCode } from './errors.js';
import { BROADCAST_ADDRESS, DEFAULT_PREAMBLE, FunctionCode, encodeFrame, isAddress, type Dlt645Frame } from './frame.js';
import { Dlt645Framer } from './framer.js';
import { DLT645_IDENTIFIERS, SINGLE_PHASE_DIS, decodeIdentifierValue, findIdentifier, type Dlt645Identifier } from './identifiers.js';
import { SerialLine, StreamLine, type Dlt645Stream, type Line, type LineSettings } from './line.js';
import { answersFunction, parseReadAddressAnswer, parseReadDataAnswer, readAddressRequest, readDataRequest } from './messages.js';

export interface Dlt645Sample extends Sample {
  name: string;
  di: string;
}

export interface Dlt645MeterReaderOptions {
  /** Serial device, e.g. /dev/ttyUSB0. Exactly one of path and stream. */
  path?: string;
  /** A Duplex-like stream instead of a serial device (the simulator's in-process link). */
  stream?: Dlt645Stream;
  /** The meter's 12-digit address, nameplate order (A5 first), e.g. "000012345678". */
  address: string;
  /** Which identifiers to read (a hardware profile); or `identifiers`; default: the built-in single-phase table. */
  profile?: Dlt645Profile;
  /** DIs from the built-in table, or full definitions. */
  identifiers?: ReadonlyArray<string | Dlt645Identifier>;
  /** Default: the profile's serial settings, else DL/T 645-2007 §5.1's 2400 8E1; a /dev/pts/* path defaults to no parity. */
  baudRate?: number;
  dataBits?: 7 | 8;
  parity?: 'none' | 'even' | 'odd';
  stopBits?: 1 | 2;
  /** Per request; the meter may take a few hundred ms before it answers. */
  timeoutMs?: number;
  /** Extra attempts after a timeout or a garbled answer (never after a meter error). Default 1. */
  retries?: number;
  /** Pause before a retry. */
  backoffMs?: number;
  /** FEH wake-up bytes before each request (§5.3.1), 0..4. */
  preamble?: number;
  /** snapshot() reads the meter's clock (04000101, 04000102); default true. */
  readClock?: boolean;
  /** The meter's local time = UTC + this many minutes; default +480 (Beijing time, State Grid meters). */
  utcOffsetMin?: number;
  log?: Logger;
}

const RETRYABLE = new Set<Dlt645ErrorCode>(['TIMEOUT', 'CHECKSUM', 'ADDRESS_MISMATCH', 'LENGTH', 'BCD', 'PROTOCOL']);
const DLT645_LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 }; // §5.1

function resolveIdentifiers(options: Dlt645MeterReaderOptions): Dlt645Identifier[] {
  const list = options.identifiers ?? options.profile?.identifiers ?? SINGLE_PHASE_DIS;
  return list.map((d) => {
    if (typeof d !== 'string') return d;
    const def = findIdentifier(d);
    if (!def) throw new Dlt645Error('PROTOCOL', `DI ${d} is not in the built-in table (${DLT645_IDENTIFIERS.map((x) => x.di).join(', ')}); pass its definition`);
    return def;
  });
}

/** Whether an answer's address is the one asked (AA bytes in the asked address match anything, §5.2.2). */
function addressMatches(asked: string, answered: string): boolean {
  for (let i = 0; i < 12; i += 2) {
    const a = asked.slice(i, i + 2);
    if (a !== 'AA' && a !== answered.slice(i, i + 2)) return false;
  }
  return true;
}

export class Dlt645MeterReader {
  readonly address: string;
  readonly identifiers: readonly Dlt645Identifier[];
  /** True when the last read() needed at least one retry (the reading's ReadRetried status flag). */
  lastReadRetried = false;
  /** How many retries the last read() or snapshot() needed. */
  lastReadRetries = 0;
  private readonly readClock: boolean;
  private readonly utcOffsetMin: number;
  private readonly line: Line;
  private readonly framer = new Dlt645Framer();
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly preamble: number;
  private readonly log: Logger | undefined;
  private waiter: ((frame: Dlt645Frame) => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: Dlt645MeterReaderOptions) {
    if ((options.path === undefined) === (options.stream === undefined)) {
      throw new Dlt645Error('PORT', 'Dlt645MeterReader needs exactly one of path and stream');
    }
    if (!isAddress(options.address)) throw new Dlt645Error('BCD', `meter address ${JSON.stringify(options.address)} is not 12 digits`);
    this.address = options.address;
    this.identifiers = resolveIdentifiers(options);
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.retries = Math.max(0, Math.floor(options.retries ?? 1));
    this.backoffMs = Math.max(0, options.backoffMs ?? 100);
    this.preamble = options.preamble ?? DEFAULT_PREAMBLE;
    this.readClock = options.readClock ?? true;
    this.utcOffsetMin = options.utcOffsetMin ?? STATE_GRID_UTC_OFFSET_MIN;
    this.log = options.log;
    if (options.path !== undefined) {
      const base = options.profile?.serial ?? DLT645_LINE;
      // A pseudo-terminal carries bytes, not line framing: parity means nothing there (and some kernels refuse it).
      const pty = options.path.startsWith('/dev/pts/');
      this.line = new SerialLine(options.path, {
        baudRate: options.baudRate ?? base.baudRate,
        dataBits: options.dataBits ?? base.dataBits,
        parity: options.parity ?? (pty ? 'none' : base.parity),
        stopBits: options.stopBits ?? base.stopBits,
      });
    } else {
      this.line = new StreamLine(options.stream!);
    }
  }

  get isOpen(): boolean {
    return this.line.isOpen;
  }

  open(): Promise<void> {
    return this.line.open(
      (chunk) => {
        for (const frame of this.framer.push(chunk)) this.waiter?.(frame);
      },
      (err) => this.log?.warn({ err: err.message }, 'meter port error'),
    );
  }

  close(): Promise<void> {
    return this.line.close();
  }

  /** Reads every identifier, in order; calls are serialised. Values are exact: value × 10^scaler unit. */
  read(): Promise<Dlt645Sample[]> {
    return this.serialise(() => this.readAll());
  }

  /**
   * One scan: every identifier, the meter's identity (its 12-digit address) and, unless readClock is false,
   * its clock. A meter that answers the clock identifiers with an error (no such data) has no clock: null.
   */
  snapshot(): Promise<MeterSnapshot> {
    return this.serialise(async () => {
      const samples = await this.readAll();
      const retries = this.lastReadRetries;
      const meterClock = this.readClock ? await this.readMeterClock() : null;
      this.lastReadRetried ||= this.lastReadRetries > 0;
      return { samples, meterIdentity: this.address, meterClock, retries: Math.max(retries, this.lastReadRetries) };
    });
  }

  private async readMeterClock(): Promise<MeterClock | null> {
    const raw = (di: string): Promise<Uint8Array> =>
      this.transact(readDataRequest(this.address, di), `DI ${di} (clock)`, (f) => {
        if (!answersFunction(f, FunctionCode.ReadData)) return undefined;
        if (!addressMatches(this.address, f.address)) throw new Dlt645Error('ADDRESS_MISMATCH', `asked meter ${this.address}, meter ${f.address} answered`);
        const answer = parseReadDataAnswer(f);
        return answer.di === di ? answer.value : undefined;
      });
    try {
      let date = parseMeterDate(await raw(DI_DATE));
      const seconds = parseMeterTime(await raw(DI_TIME));
      // Midnight may have passed between the two requests: a time just after 00:00 pairs with a fresh date.
      if (seconds < 10) date = parseMeterDate(await raw(DI_DATE));
      // The meter does not report its UTC offset (it is configured here), so deviation stays null.
      return { timeMs: meterClockToUtc(date, seconds, this.utcOffsetMin), deviationMin: null, status: null };
    } catch (err) {
      if (err instanceof Dlt645Error && err.code === 'METER_ERROR') return null; // §7.1 abnormal answer: no clock
      throw err;
    }
  }

  /**
   * Sets the meter's clock by broadcast time synchronisation (C = 08H to 999999999999; no meter answers a
   * broadcast), then reads the clock back: a meter that did not take it (some refuse broadcasts that move the
   * clock too far, or outside their allowed window) is CLOCK_NOT_SET. Every meter on the bus receives it.
   */
  setClock(timeMs: bigint): Promise<void> {
    return this.serialise(async () => {
      if (!this.line.isOpen) throw new Dlt645Error('PORT', 'meter port is not open');
      const frame = { address: BROADCAST_ADDRESS, control: FunctionCode.BroadcastTime, data: broadcastTimeData(timeMs, this.utcOffsetMin) };
      const sentAt = Date.now();
      await this.line.write(encodeFrame(frame, { preamble: this.preamble }));
      await new Promise((r) => setTimeout(r, 50)); // let the meter apply it before the read-back
      const clock = await this.readMeterClock();
      const expected = Number(timeMs) + (Date.now() - sentAt);
      if (clock === null) throw new Dlt645Error('CLOCK_NOT_SET', `meter ${this.address} has no readable clock after the broadcast`);
      const off = Number(clock.timeMs) - expected;
      if (Math.abs(off) > 3000) { // 1 s resolution on the wire, plus the read-back's own time
        throw new Dlt645Error('CLOCK_NOT_SET', `meter ${this.address} did not take the broadcast time: it reads ${off} ms from the time sent`);
      }
    });
  }

  /** §7.4: asks the one meter on a point-to-point line for its address (sent to AA..AA). */
  readAddress(): Promise<string> {
    return this.serialise(() =>
      this.transact(readAddressRequest(), 'read address', (f) => (answersFunction(f, FunctionCode.ReadAddress) ? parseReadAddressAnswer(f) : undefined)),
    );
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readAll(): Promise<Dlt645Sample[]> {
    if (!this.line.isOpen) throw new Dlt645Error('PORT', 'meter port is not open');
    this.lastReadRetried = false;
    this.lastReadRetries = 0;
    const out: Dlt645Sample[] = [];
    for (const def of this.identifiers) {
      const sample = await this.transact(readDataRequest(this.address, def.di), `DI ${def.di} (${def.name})`, (f) => {
        if (!answersFunction(f, FunctionCode.ReadData)) return undefined; // our own echo, or another function
        if (!addressMatches(this.address, f.address)) {
          throw new Dlt645Error('ADDRESS_MISMATCH', `asked meter ${this.address}, meter ${f.address} answered`);
        }
        const answer = parseReadDataAnswer(f); // METER_ERROR for D1H
        if (answer.di !== def.di) return undefined; // a late answer to an earlier request
        return { name: def.name, di: def.di, obis: def.obis, ...decodeIdentifierValue(def, answer.value), raw: answer.value };
      });
      out.push(sample);
    }
    return out;
  }

  private async transact<T>(request: Dlt645Frame, what: string, accept: (f: Dlt645Frame) => T | undefined): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.exchange(request, what, accept);
      } catch (err) {
        const e = err instanceof Dlt645Error ? err : new Dlt645Error('PORT', `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
        if (!RETRYABLE.has(e.code) || attempt >= this.retries) {
          if (attempt === 0) throw e;
          throw new Dlt645Error(e.code, `${e.message} (after ${attempt + 1} attempts)`, e.errorWord === undefined ? { cause: e } : { cause: e, errorWord: e.errorWord });
        }
        this.lastReadRetried = true;
        this.lastReadRetries++;
        this.log?.debug({ code: e.code, attempt, what }, 'meter read retry');
        await new Promise((r) => setTimeout(r, this.backoffMs));
      }
    }
  }

  private exchange<T>(request: Dlt645Frame, what: string, accept: (f: Dlt645Frame) => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.framer.reset(); // half duplex: anything before our request is stale
      const checksumErrors = this.framer.checksumErrors;
      const finish = (): void => {
        clearTimeout(timer);
        this.waiter = undefined;
      };
      const timer = setTimeout(() => {
        finish();
        const garbled = this.framer.checksumErrors > checksumErrors;
        reject(
          garbled
            ? new Dlt645Error('CHECKSUM', `${what}: meter ${this.address}: answers came, none with a valid checksum, within ${this.timeoutMs} ms`)
            : new Dlt645Error('TIMEOUT', `${what}: no answer from meter ${this.address} within ${this.timeoutMs} ms`),
        );
      }, this.timeoutMs);
      this.waiter = (frame) => {
        let result: T | undefined;
        try {
          result = accept(frame);
        } catch (err) {
          finish();
          reject(err instanceof Dlt645Error ? new Dlt645Error(err.code, `${what}: ${err.message}`, { cause: err, ...(err.errorWord === undefined ? {} : { errorWord: err.errorWord }) }) : err);
          return;
        }
        if (result !== undefined) {
          finish();
          resolve(result);
        }
      };
      this.line.write(encodeFrame(request, { preamble: this.preamble })).catch((err: unknown) => {
        finish();
        reject(err);
      });
    });
  }
}
