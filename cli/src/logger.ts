import pino, { type Logger } from 'pino';

/** JSON lines on stderr (stdout stays free for results such as --json). */
export function makeLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'meterseal'): Logger {
  return pino({ name, level, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
}
