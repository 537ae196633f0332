// Where a simulated meter serves: a serial device it opens itself (8N1: ptys carry no parity; a real meter
// may use 8E1) or a stream it is given (the in-process link). Shared by the Modbus and DL/T 645 simulators.
import { SerialPort } from 'serialport';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { SimulatorError } from './errors.js';

export interface ServingTransport {
  stream: Duplex;
  /** Closes the port if this module opened it; a provided stream is left to its owner. */
  release(): Promise<void>;
}

export async function openServingTransport(path: string | undefined, baudRate: number, stream: Duplex | undefined): Promise<ServingTransport> {
  if (stream) return { stream, release: async () => undefined };
  if (!path) throw new SimulatorError('NO_TRANSPORT', 'simulator: config.path or options.stream is required');
  const port = new SerialPort({ path, baudRate, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false });
  await new Promise<void>((resolve, reject) => {
    port.open((err) => (err ? reject(new SimulatorError('PORT', `cannot open ${path}: ${err.message}`, { cause: err })) : resolve()));
  });
  return {
    stream: port,
    release: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}

/**
 * Feeds every chunk the transport receives to `onChunk` and logs transport errors. The returned function
 * stops listening and releases a port this module opened (its error listener stays on a closed port, in case
 * the port reports late); it is idempotent.
 */
export function attachServing(serving: ServingTransport, owned: boolean, onChunk: (chunk: Buffer) => void, log: Logger): () => Promise<void> {
  const onError = (err: Error): void => log.error({ err }, 'transport error');
  serving.stream.on('data', onChunk);
  serving.stream.on('error', onError);
  let detached = false;
  return async () => {
    if (detached) return;
    detached = true;
    serving.stream.off('data', onChunk);
    if (owned) await serving.release();
    else serving.stream.off('error', onError);
  };
}
