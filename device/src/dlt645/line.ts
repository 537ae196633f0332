// The byte pipe under the DL/T 645 reader: a real serial device (serialport) or any Duplex-like stream
// (the simulator's in-process link, a PassThrough pair in tests). Either way: open, write, 'data', close.
import { SerialPort } from 'serialport';
import { Dlt645Error } from './errors.js';

/** What the reader needs from a custom stream; `open`/`close` are called when present. */
export interface Dlt645Stream {
  write(chunk: Buffer): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Buffer) => void): unknown;
  open?(callback: (err: Error | null) => void): void;
  close?(callback: (err?: Error | null) => void): void;
}

export interface LineSettings {
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
}

export interface Line {
  readonly isOpen: boolean;
  open(onData: (chunk: Buffer) => void, onError: (err: Error) => void): Promise<void>;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export class SerialLine implements Line {
  private readonly port: SerialPort;
  private onData: ((chunk: Buffer) => void) | undefined;
  private onError: ((err: Error) => void) | undefined;
  constructor(readonly path: string, settings: LineSettings) {
    this.port = new SerialPort({ path, ...settings, autoOpen: false });
    this.port.on('data', (chunk: Buffer) => this.onData?.(chunk));
    // Always listened to: an unhandled 'error' event would crash the agent.
    this.port.on('error', (err: Error) => this.onError?.(err));
  }

  get isOpen(): boolean {
    return this.port.isOpen;
  }

  open(onData: (chunk: Buffer) => void, onError: (err: Error) => void): Promise<void> {
    this.onData = onData;
    this.onError = onError;
    return new Promise((resolve, reject) => {
      this.port.open((err) => {
        if (err) reject(new Dlt645Error('PORT', `cannot open meter port ${this.path}: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.port.write(Buffer.from(bytes), (err) => (err ? reject(new Dlt645Error('PORT', `write to ${this.path} failed: ${err.message}`, { cause: err })) : resolve()));
    });
  }

  close(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.port.close(() => resolve()));
  }
}

export class StreamLine implements Line {
  private open_ = false;
  private listener: ((chunk: Buffer) => void) | undefined;
  constructor(private readonly stream: Dlt645Stream) {}

  get isOpen(): boolean {
    return this.open_;
  }

  async open(onData: (chunk: Buffer) => void): Promise<void> {
    const { stream } = this;
    if (stream.open) {
      await new Promise<void>((resolve, reject) =>
        stream.open!((err) => (err ? reject(new Dlt645Error('PORT', `cannot open meter stream: ${err.message}`, { cause: err })) : resolve())),
      );
    }
    if (this.listener) stream.removeListener('data', this.listener);
    this.listener = onData;
    stream.on('data', onData);
    this.open_ = true;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.open_) throw new Dlt645Error('PORT', 'meter stream is not open');
    this.stream.write(Buffer.from(bytes));
  }

  async close(): Promise<void> {
    if (!this.open_) return;
    this.open_ = false;
    if (this.listener) this.stream.removeListener('data', this.listener);
    this.listener = undefined;
    const { stream } = this;
    if (stream.close) await new Promise<void>((resolve) => stream.close!(() => resolve()));
  }
}
