// Shared by the simulator's and the device's tests: a silent logger, a serial client, a byte collector.
import { SerialPort } from 'serialport';
import { pino, type Logger } from 'pino';

export function silentLog(): Logger {
  return pino({ level: process.env.METERSEAL_TEST_LOG ?? 'silent' });
}

export function openSerialClient(path: string, baudRate = 9600): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false });
  return new Promise((resolve, reject) => port.open((err) => (err ? reject(err) : resolve(port))));
}

export function closeSerial(port: SerialPort): Promise<void> {
  return new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
}

/** Collects everything a stream emits; `take(n)` resolves with the next n bytes (or rejects after a safety timeout). */
export class ByteCollector {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | undefined;

  constructor(source: NodeJS.EventEmitter) {
    source.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.waiter?.();
    });
  }

  get pending(): number {
    return this.buf.length;
  }

  async take(n: number, safetyMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + safetyMs;
    while (this.buf.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} bytes, have ${this.buf.length}: ${this.buf.toString('hex')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}
