// The technician's side of the provisioning console: one command line out, one JSON answer line back.
import { readFileSync, statSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { DelimiterParser } from '@serialport/parser-delimiter';
import { fromHex, signConsoleCommand, toHex } from '@meterseal/protocol';
import { MeterctlError } from './errors.js';

export interface ConsoleAnswer {
  ok: boolean;
  cmd?: string;
  error?: { code: string; message: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface Exchange {
  line: string;
  raw: string;
  answer: ConsoleAnswer;
}

const MAX_ANSWER_BYTES = 1 << 20; // a console answer (log 200) is far smaller; more means a confused line

export class ConsoleClient {
  private waiting: Array<{ resolve: (raw: string) => void; reject: (e: Error) => void }> = [];
  private pendingBytes = 0;

  private constructor(private readonly port: SerialPort, readonly timeoutMs: number) {
    const parser = port.pipe(new DelimiterParser({ delimiter: '\n' }));
    port.on('data', (b: Buffer) => {
      this.pendingBytes += b.length;
      if (this.pendingBytes > MAX_ANSWER_BYTES) this.failAll(new MeterctlError('ANSWER_TOO_LONG', 'the console sent an over-long answer'));
    });
    parser.on('data', (b: Buffer) => {
      this.pendingBytes = 0;
      this.waiting.shift()?.resolve(b.toString('utf8').replace(/\r$/, ''));
    });
    port.on('close', () => this.failAll(new MeterctlError('PORT_CLOSED', 'the serial port closed')));
  }

  /** Opens the port 8N1 and discards anything already buffered. */
  static async open(path: string, opts: { baudRate?: number; timeoutMs?: number } = {}): Promise<ConsoleClient> {
    const port = new SerialPort({ path, baudRate: opts.baudRate ?? 115200, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err
      ? reject(new MeterctlError('OPEN_FAILED', `cannot open ${path}: ${err.message}`, { cause: err })) : resolve())));
    await new Promise<void>((resolve) => port.flush(() => resolve()));
    return new ConsoleClient(port, opts.timeoutMs ?? 15_000);
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  /** Sends one command line and waits for its answer. */
  async request(line: string): Promise<Exchange> {
    if (line.includes('\n') || line.includes('\r')) throw new MeterctlError('BAD_LINE', 'a command line cannot contain a line break');
    const raw = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiting.findIndex((w) => w.resolve === done);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new MeterctlError('TIMEOUT', `no answer to "${line.split(' ')[0]}" within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const done = (s: string): void => {
        clearTimeout(timer);
        resolve(s);
      };
      this.waiting.push({ resolve: done, reject: (e) => { clearTimeout(timer); reject(e); } });
      this.port.write(line + '\n');
    });
    let answer: ConsoleAnswer;
    try {
      answer = JSON.parse(raw) as ConsoleAnswer;
    } catch (cause) {
      throw new MeterctlError('BAD_ANSWER', `the console answered with something that is not JSON: ${raw.slice(0, 200)}`, { cause });
    }
    if (typeof answer !== 'object' || answer === null || typeof answer.ok !== 'boolean') {
      throw new MeterctlError('BAD_ANSWER', `unexpected answer: ${raw.slice(0, 200)}`);
    }
    return { line, raw, answer };
  }

  /** Runs a state-changing command: `challenge`, then `sign <sig> <line>` over (nonce, line). */
  async signed(line: string, technicianSecretKey: Uint8Array): Promise<Exchange> {
    const canonical = line.split(' ').filter(Boolean).join(' ');
    const ch = await this.request('challenge');
    if (!ch.answer.ok) return ch;
    const nonce = fromHex(String(ch.answer.nonce), 32);
    const ex = await this.request(`sign ${toHex(signConsoleCommand(nonce, canonical, technicianSecretKey))} ${canonical}`);
    return { ...ex, line: canonical };
  }

  async close(): Promise<void> {
    if (this.port.isOpen) await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}

/** The console commands that change state and so must be signed. */
export const SIGNED_COMMANDS = new Set(['set-meter-id', 'set-account', 'set-endpoints', 'register', 'rotate-key', 'factory-reset', 'confirm']);

export function loadCredential(path: string): string {
  const text = readFileSync(path, 'utf8').trim();
  try {
    fromHex(text);
  } catch (cause) {
    throw new MeterctlError('BAD_CREDENTIAL_FILE', `${path} does not hold a hex technician credential`, { cause });
  }
  return text.toLowerCase();
}

export function loadTechnicianKey(path: string): Uint8Array {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new MeterctlError('KEY_PERMISSIONS', `${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  try {
    return fromHex(readFileSync(path, 'utf8').trim(), 32);
  } catch (cause) {
    throw new MeterctlError('BAD_KEY_FILE', `${path} does not hold a 32-byte hex Ed25519 seed`, { cause });
  }
}
