// Runs a console session over a byte stream: any Duplex (tests), or a serial line such as the USB gadget
// serial /dev/ttyGS0 (8N1). Lines are framed by our bounded LineFramer rather than
// @serialport/parser-delimiter, whose buffer grows without limit while no '\n' arrives (hostile input).
import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';
import { LineFramer } from './line.js';
import { ConsoleSession, type ConsoleAgent, type ConsoleOptions } from './session.js';

export interface ConsoleHandle {
  session: ConsoleSession;
  /** Resolves when every line received so far has been answered. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Answers every '\n'-terminated line on `stream` with one JSON line, strictly in order. */
export function attachConsole(stream: Duplex, agent: ConsoleAgent, opts: ConsoleOptions): ConsoleHandle {
  const session = new ConsoleSession(agent, opts);
  const framer = new LineFramer(session.maxLineBytes);
  let chain: Promise<void> = Promise.resolve();
  const onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    for (const framed of framer.push(bytes)) {
      chain = chain.then(async () => {
        const answer = await session.handle(framed);
        if (!stream.destroyed && stream.writable) stream.write(JSON.stringify(answer) + '\n');
      });
    }
  };
  stream.on('data', onData);
  stream.on('error', () => undefined); // a vanished USB host must not crash the agent
  return {
    session,
    idle: () => chain,
    close: async () => {
      stream.off('data', onData);
      await chain;
    },
  };
}

export interface SerialConsoleOptions {
  path: string;
  /** Ignored by USB gadget serial and ptys; used on a real UART. Default 115200. */
  baudRate?: number;
}

/** Opens the serial line (8N1, no flow control) and serves the console on it. */
export async function openSerialConsole(serial: SerialConsoleOptions, agent: ConsoleAgent, opts: ConsoleOptions): Promise<ConsoleHandle> {
  const port = new SerialPort({
    path: serial.path, baudRate: serial.baudRate ?? 115200, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false, autoOpen: false,
  });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const handle = attachConsole(port, agent, opts);
  return {
    ...handle,
    close: async () => {
      await handle.close();
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}
