import type { Logger } from 'pino';
import { makeLogger } from '../logger.js';

/** Starts a long-running component and closes it cleanly on SIGINT/SIGTERM. */
export async function runService(name: string, start: (log: Logger) => Promise<{ close(): Promise<void> }>): Promise<void> {
  const log = makeLogger(process.env.LOG_LEVEL ?? 'info', `meterseal-${name}`);
  const handle = await start(log);
  log.info(`${name} running; Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, `${name} stopping`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await handle.close();
}
