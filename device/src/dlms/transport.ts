// The byte pipe under the DLMS client: a serial device (RS-485 adapter, optical probe, pty) or any
// Duplex-like stream, as an HdlcTransport. IEC 62056-46 direct HDLC runs 8N1 (an optical port in IEC
// 62056-21 mode E switches to 8N1 after the 300 bps opening; that opening is not done here).
import { SerialPort } from 'serialport';
import { DlmsError } from './errors.js';
import type { HdlcTransport } from './hdlc/link.js';

export interface DlmsStream {
  write(chunk: Buffer): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Buffer) => void): unknown;
  /** Called when present (the simulator's in-process port); serial ports come open or are opened here. */
  readonly isOpen?: boolean;
  open?(callback: (err: Error | null) => void): void;
}

export interface DlmsPort extends HdlcTransport {
  readonly isOpen: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
}

type Listener = (bytes: Uint8Array) => void;

abstract class BasePort {
  protected listeners = new Set<Listener>();
  protected readonly deliver = (chunk: Buffer): void => {
    for (const l of this.listeners) l(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  };
  onData(cb: Listener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
}

export class SerialDlmsPort extends BasePort implements DlmsPort {
  private readonly port: SerialPort;
  constructor(readonly path: string, baudRate: number, private readonly onError?: (err: Error) => void) {
    super();
    this.port = new SerialPort({ path, baudRate, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false });
    this.port.on('data', this.deliver);
    this.port.on('error', (err: Error) => this.onError?.(err)); // always listened to: an unhandled 'error' would crash the agent
  }
  get isOpen(): boolean {
    return this.port.isOpen;
  }
  open(): Promise<void> {
    if (this.port.isOpen) return Promise.resolve();
    return new Promise((resolve, reject) =>
      this.port.open((err) => (err ? reject(new DlmsError('STATE', `cannot open meter port ${this.path}: ${err.message}`, { cause: err })) : resolve())),
    );
  }
  write(bytes: Uint8Array): void {
    if (!this.port.isOpen) throw new DlmsError('STATE', `meter port ${this.path} is not open`);
    this.port.write(Buffer.from(bytes));
  }
  close(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.port.close(() => resolve()));
  }
}

export class StreamDlmsPort extends BasePort implements DlmsPort {
  private opened = false;
  constructor(private readonly stream: DlmsStream) {
    super();
  }
  get isOpen(): boolean {
    return this.opened;
  }
  async open(): Promise<void> {
    if (this.opened) return;
    const { stream } = this;
    if (stream.open && stream.isOpen !== true) {
      await new Promise<void>((resolve, reject) =>
        stream.open!((err) => (err ? reject(new DlmsError('STATE', `cannot open meter stream: ${err.message}`, { cause: err })) : resolve())),
      );
    }
    stream.on('data', this.deliver);
    this.opened = true;
  }
  write(bytes: Uint8Array): void {
    if (!this.opened) throw new DlmsError('STATE', 'meter stream is not open');
    this.stream.write(Buffer.from(bytes));
  }
  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    this.stream.removeListener('data', this.deliver);
  }
}
