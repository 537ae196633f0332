// In-process fallback for machines without socat: a "serial line" inside one Node process.
// One end is a custom port for modbus-serial (`new ModbusRTU(port)`), the other a Duplex the simulator serves on.
//
// modbus-serial 8 (index.js, ModbusRTU#open/#close/_writeBufferToPort/_onReceive) uses a custom port as:
//   port.open(cb)                      then sets port._transactionIdRead/_transactionIdWrite = 1
//   port.on/removeListener('data'|'error'), port.once('close')
//   port.write(buffer)                 one request frame per call
//   port.isOpen                        checked before every request
//   port.close(cb), port.destroy?()    on close/destroy
//   'data' events                      each must carry exactly one whole response frame as a Buffer
//                                      (_onReceive checks CRC and length per event)
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';

export class InProcessPort extends EventEmitter {
  private open_ = false;
  /** Set by modbus-serial on open; kept as plain writable fields. */
  _transactionIdRead = 1;
  _transactionIdWrite = 1;

  constructor(private readonly toServer: (bytes: Buffer) => void) {
    super();
  }

  get isOpen(): boolean {
    return this.open_;
  }

  open(callback?: (err: Error | null) => void): void {
    this.open_ = true;
    if (callback) setImmediate(() => callback(null));
  }

  close(callback?: (err: Error | null) => void): void {
    const was = this.open_;
    this.open_ = false;
    setImmediate(() => {
      if (was) this.emit('close');
      callback?.(null);
    });
  }

  destroy(): void {
    this.open_ = false;
  }

  write(data: Buffer | Uint8Array): boolean {
    if (!this.open_) return false;
    this.toServer(Buffer.from(data));
    return true;
  }

  /** Called by the link: one server write is one response frame. */
  deliver(frame: Buffer): void {
    if (this.open_) setImmediate(() => this.open_ && this.emit('data', frame));
  }
}

export interface InProcessLinkOptions {
  /** Fault injection on server → client frames: return replacement bytes, or null to drop the frame. */
  toClient?: (frame: Uint8Array) => Uint8Array | null;
}

export interface InProcessLink {
  /** Give to `new ModbusRTU(port)` or to the device's reader as `port`. */
  clientPort: InProcessPort;
  /** Give to startSimulator(config, { stream }). */
  serverStream: Duplex;
  close(): void;
}

export function createInProcessLink(options: InProcessLinkOptions = {}): InProcessLink {
  let port: InProcessPort;
  const serverStream = new Duplex({
    read() {
      // requests are pushed by the port's write()
    },
    write(chunk: Buffer, _encoding, callback) {
      const frame = options.toClient ? options.toClient(new Uint8Array(chunk)) : chunk;
      if (frame) port.deliver(Buffer.from(frame));
      callback();
    },
  });
  port = new InProcessPort((bytes) => {
    setImmediate(() => serverStream.push(bytes));
  });
  return {
    clientPort: port,
    serverStream,
    close() {
      port.destroy();
      serverStream.destroy();
    },
  };
}
