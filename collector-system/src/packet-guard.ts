// aedes (through mqtt-packet) buffers a packet of any declared size until it is complete — up to 256 MiB
// per connection. This guard reads only MQTT fixed headers as bytes pass (MQTT 3.1.1 §2.2, MQTT 5.0 §2.1)
// and cuts a connection as soon as a packet declares a Remaining Length above the limit, before its body
// is buffered. Bytes are passed on unchanged.
import type { Socket } from 'node:net';
import { Duplex, Transform } from 'node:stream';
import { CollectorError } from './errors.js';

/** Incremental framer over a client's byte stream; push() throws CollectorError MALFORMED on a violation. */
export class MqttSizeFramer {
  readonly maxPacketBytes: number;
  #state: 'header' | 'length' | 'body' = 'header';
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;

  constructor(maxPacketBytes: number) {
    this.maxPacketBytes = maxPacketBytes;
  }

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'header') {
        i++; // MQTT 3.1.1 §2.2.1: one byte of packet type and flags
        this.#state = 'length';
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
      } else if (this.#state === 'length') {
        const b = chunk[i++]!;
        this.#length += (b & 0x7f) * this.#multiplier; // §2.2.3: variable length, 7 bits per byte, low first
        this.#multiplier *= 128;
        this.#lengthBytes++;
        if (b & 0x80) {
          if (this.#lengthBytes === 4) throw new CollectorError('MALFORMED', 'MQTT remaining length longer than 4 bytes');
          continue;
        }
        const total = 1 + this.#lengthBytes + this.#length;
        if (total > this.maxPacketBytes) {
          throw new CollectorError('MALFORMED', `MQTT packet of ${total} bytes exceeds the ${this.maxPacketBytes}-byte limit`);
        }
        this.#remaining = this.#length;
        this.#state = this.#remaining === 0 ? 'header' : 'body';
      } else {
        const take = Math.min(this.#remaining, chunk.length - i);
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = 'header';
      }
    }
  }
}

/**
 * The socket as a duplex stream whose readable side passes through the size guard. On a violation the
 * socket is destroyed and onViolation is told why.
 */
export function guardedConnection(socket: Socket, maxPacketBytes: number, onViolation: (err: unknown) => void): Duplex {
  const framer = new MqttSizeFramer(maxPacketBytes);
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        framer.push(chunk);
        done(null, chunk);
      } catch (err) {
        onViolation(err);
        socket.destroy();
        done();
      }
    },
  });
  socket.on('error', (err) => guard.destroy(err));
  socket.pipe(guard);
  return Duplex.from({ readable: guard, writable: socket });
}
