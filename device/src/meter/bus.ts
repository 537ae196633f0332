// One Modbus RTU bus (an RS-485 segment behind one serial device), shared by every reader of a meter on it.
// Modbus over Serial Line V1.02 §2.1: one master, one transaction at a time — so requests are queued here and
// never interleave, whichever reader (unit id) asks. The bus also survives a USB adapter unplugged and
// plugged back: when the port errors, closes, or its path now names another device, the next request
// reopens it.
import { realpath } from 'node:fs/promises';
import type { Logger } from 'pino';
import { MeterReadError } from './errors.js';
import { SerialRtuPort, crc16, type ModbusPort, type SerialLineOptions } from './serial-port.js';

export interface ModbusBusOptions {
  /** Serial device, e.g. /dev/ttyUSB0 or a stable /dev/serial/by-id/… link. Exactly one of path and port. */
  path?: string;
  /** A ready custom port (the simulator's in-process link). */
  port?: ModbusPort;
  /** Line settings for path. */
  line?: SerialLineOptions;
  /** Silence kept between frames, ms. Default: 3.5 characters at the baud rate, 1.75 ms above 19200 bd. */
  interFrameMs?: number;
  log?: Logger;
}

/** The t3.5 silent interval in ms: Modbus over Serial Line V1.02 §2.5.1.1 (fixed 1.75 ms above 19200 bd). */
export function interFrameMs(line: Pick<SerialLineOptions, 'baudRate' | 'parity' | 'stopBits' | 'dataBits'>): number {
  if (line.baudRate > 19200) return 1.75;
  return (3.5 * bitsPerChar(line) * 1000) / line.baudRate;
}

/** Bits on the wire per character: start + data + parity + stop (§2.5.1: 11 bits in RTU mode with parity). */
export function bitsPerChar(line: Pick<SerialLineOptions, 'parity' | 'stopBits' | 'dataBits'>): number {
  return 1 + line.dataBits + (line.parity === 'none' ? 0 : 1) + line.stopBits;
}

/**
 * Waits until performance.now() reaches `target`: a timer for the bulk, then event-loop turns for the last
 * millisecond or so (timers fire late by up to a millisecond, a third of t3.5 at 9600 bd).
 */
export function sleepUntil(target: number): Promise<void> {
  return new Promise((resolve) => {
    const step = (): void => {
      const left = target - performance.now();
      if (left <= 0) resolve();
      else if (left > 1.5) setTimeout(step, left - 1.5);
      else setImmediate(step);
    };
    step();
  });
}

export class ModbusBus {
  readonly path: string | undefined;
  readonly line: SerialLineOptions | undefined;
  /** How many times the port was reopened after a failure. */
  reopens = 0;
  private port: ModbusPort;
  private readonly interFrame: number;
  private readonly log: Logger | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private users = 0;
  private broken = false;
  private openedTarget: string | undefined;
  private lastFrameAt = 0;
  private onRelease: (() => void) | undefined;

  constructor(options: ModbusBusOptions) {
    if ((options.path === undefined) === (options.port === undefined)) {
      throw new MeterReadError('PORT', 'ModbusBus needs exactly one of path and port');
    }
    this.path = options.path;
    this.line = options.line;
    this.log = options.log;
    this.interFrame = options.interFrameMs ?? (options.line ? interFrameMs(options.line) : 0);
    this.port = options.port ?? this.makePort();
    this.watch(this.port);
  }

  private static readonly shared = new Map<string, ModbusBus>();

  /** The one bus on `path` in this process (created on first use): readers of several unit ids share it. */
  static forPath(path: string, line: SerialLineOptions, log?: Logger): ModbusBus {
    const existing = ModbusBus.shared.get(path);
    if (existing) {
      const l = existing.line!;
      if (l.baudRate !== line.baudRate || l.parity !== line.parity || l.dataBits !== line.dataBits || l.stopBits !== line.stopBits) {
        throw new MeterReadError('PORT', `${path} is already in use with other line settings (${JSON.stringify(l)})`);
      }
      return existing;
    }
    const bus = new ModbusBus({ path, line, ...(log ? { log } : {}) });
    ModbusBus.shared.set(path, bus);
    bus.onRelease = () => ModbusBus.shared.delete(path);
    return bus;
  }

  get isOpen(): boolean {
    return this.users > 0 && this.port.isOpen;
  }

  /** Counted: the port opens for the first user and closes after the last. */
  async open(): Promise<void> {
    this.users++;
    if (this.users > 1 && this.port.isOpen) return;
    try {
      await this.openPort();
    } catch (err) {
      this.users--;
      if (this.users === 0) this.onRelease?.();
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.users === 0) return;
    this.users--;
    if (this.users > 0) return;
    await this.serialise(() => this.closePort());
    this.onRelease?.();
  }

  /**
   * Sends one request frame (CRC included) and resolves with the answer frame from `unit` to `functionCode`
   * (or its exception, function | 0x80). Rejects with MeterReadError TIMEOUT or PORT; CRC and content are the
   * caller's to check (parseReadResponse).
   */
  transact(request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.serialise(() => this.exchange(request, timeoutMs));
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private makePort(): ModbusPort {
    return new SerialRtuPort(this.path!, this.line ?? { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 });
  }

  private watch(port: ModbusPort): void {
    // Always listened to: an unhandled 'error' event would crash the agent.
    port.on('error', (err: Error) => {
      if (port !== this.port) return;
      this.broken = true;
      this.log?.warn({ err: err.message, path: this.path }, 'meter bus error; reopening on the next request');
    });
    port.on('close', () => {
      if (port === this.port && this.users > 0) this.broken = true;
    });
  }

  private openPort(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.port.open((err) => {
        if (err) {
          reject(new MeterReadError('PORT', `cannot open meter port${this.path ? ` ${this.path}` : ''}: ${err.message}`, { cause: err }));
          return;
        }
        this.broken = false;
        resolve();
      });
    }).then(async () => {
      this.openedTarget = this.path ? await realpath(this.path).catch(() => undefined) : undefined;
    });
  }

  private closePort(): Promise<void> {
    const port = this.port;
    return new Promise((resolve) => {
      if (!port.isOpen) {
        resolve();
        return;
      }
      try {
        port.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  /** Reopens a port that failed, closed under us, or whose path now leads to another device (re-plugged adapter). */
  private async ensureOpen(): Promise<void> {
    if (this.users === 0) throw new MeterReadError('PORT', 'meter port is not open');
    if (!this.broken && this.port.isOpen) return;
    await this.closePort();
    if (this.path !== undefined) {
      this.port.removeAllListeners('data');
      this.port = this.makePort();
      this.watch(this.port);
    }
    this.reopens++;
    this.log?.info({ path: this.path, reopens: this.reopens }, 'reopening meter bus');
    await this.openPort();
  }

  /** After a timeout: has the device behind `path` changed (adapter re-plugged, pty recreated)? */
  private async checkTarget(): Promise<void> {
    if (this.path === undefined) return;
    const now = await realpath(this.path).catch(() => undefined);
    if (now !== this.openedTarget) this.broken = true;
  }

  private async exchange(request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    await this.ensureOpen();
    await sleepUntil(this.lastFrameAt + this.interFrame); // §2.5.1.1: at least t3.5 of silence between frames
    const port = this.port;
    const unit = request[0];
    const fc = request[1]!;
    try {
      return await new Promise<Uint8Array>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          port.removeListener('data', onData);
          port.removeListener('close', onClose);
          port.removeListener('error', onError);
        };
        const onData = (frame: Buffer): void => {
          // Not ours (another unit's late answer): keep waiting; §2.1 only the addressed unit answers.
          if (frame[0] !== unit || (frame[1] !== fc && frame[1] !== (fc | 0x80))) return;
          this.lastFrameAt = performance.now(); // the silence starts with the answer's last character
          done();
          resolve(new Uint8Array(frame));
        };
        const onClose = (): void => {
          done();
          reject(new MeterReadError('PORT', 'meter port closed during the request'));
        };
        const onError = (err: Error): void => {
          done();
          reject(new MeterReadError('PORT', `meter port failed: ${err.message}`, { cause: err }));
        };
        const timer = setTimeout(() => {
          done();
          reject(new MeterReadError('TIMEOUT', `no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        port.on('data', onData);
        port.once('close', onClose);
        port.once('error', onError);
        try {
          port.write(Buffer.from(request));
        } catch (err) {
          onError(err as Error);
        }
      });
    } catch (err) {
      if (err instanceof MeterReadError && err.code === 'TIMEOUT') await this.checkTarget();
      if (err instanceof MeterReadError && err.code === 'PORT') this.broken = true;
      this.lastFrameAt = performance.now();
      throw err;
    }
  }
}

/** Modbus Application Protocol V1.1b3 §6.3/§6.4: read holding (03) / input (04) registers request, CRC appended. */
export function encodeReadRequest(unit: number, functionCode: 3 | 4, address: number, quantity: number): Uint8Array {
  const b = new Uint8Array(8);
  b[0] = unit;
  b[1] = functionCode;
  b[2] = address >> 8;
  b[3] = address & 0xff;
  b[4] = quantity >> 8;
  b[5] = quantity & 0xff;
  const crc = crc16(b, 0, 6);
  b[6] = crc & 0xff; // Modbus over Serial Line V1.02 §2.5.1.2: CRC low byte first
  b[7] = crc >>> 8;
  return b;
}

/**
 * Checks an answer to encodeReadRequest and returns its register bytes. Throws MeterReadError CRC (the CRC
 * does not match), EXCEPTION with exceptionCode (function | 0x80, §7), or PROTOCOL (wrong unit, function,
 * byte count or length).
 */
export function parseReadResponse(frame: Uint8Array, unit: number, functionCode: 3 | 4, quantity: number): Uint8Array {
  if (frame.length < 5) throw new MeterReadError('PROTOCOL', `answer of ${frame.length} bytes is too short`);
  const crc = crc16(frame, 0, frame.length - 2);
  if (frame[frame.length - 2] !== (crc & 0xff) || frame[frame.length - 1] !== crc >>> 8) {
    throw new MeterReadError('CRC', 'CRC error'); // §2.5.1.2
  }
  if (frame[0] !== unit) throw new MeterReadError('PROTOCOL', `answer from unit ${frame[0]}, asked unit ${unit}`);
  if (frame[1] === (functionCode | 0x80)) {
    if (frame.length !== 5) throw new MeterReadError('PROTOCOL', `exception answer of ${frame.length} bytes, expected 5`);
    const code = frame[2]!;
    throw new MeterReadError('EXCEPTION', `Modbus exception ${code}`, { exceptionCode: code }); // MB Application Protocol §7
  }
  if (frame[1] !== functionCode) throw new MeterReadError('PROTOCOL', `answer to function ${frame[1]}, asked ${functionCode}`);
  const count = frame[2]!;
  if (count !== quantity * 2 || frame.length !== 5 + count) {
    throw new MeterReadError('PROTOCOL', `answer carries ${count} bytes in a ${frame.length}-byte frame, expected ${quantity * 2}`);
  }
  return frame.slice(3, 3 + count);
}
