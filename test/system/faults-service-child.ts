// A ledger or collector process for the fault tests: `node --import tsx faults-service-child.ts ledger|collector
// CONFIG.json`. It imports only the one service (not the whole CLI), logs pino JSON lines to stderr as
// `meterseal ledger|collector` does, closes cleanly on SIGTERM and is otherwise killed with SIGKILL by the tests.
import { readFileSync } from 'node:fs';
import pino from 'pino';

const [kind, file] = process.argv.slice(2);
const config = JSON.parse(readFileSync(file!, 'utf8')) as Record<string, unknown>;
const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { name: `meterseal-${kind}` } }, pino.destination(2));
let handle: { close(): Promise<void> };
if (kind === 'ledger') {
  const { startLedger } = await import('@meterseal/ledger-service');
  const h = await startLedger(config as Parameters<typeof startLedger>[0], { log });
  log.info({ mqtt: h.mqttUrl, http: h.httpUrl }, 'ledger ready');
  handle = h;
} else if (kind === 'collector') {
  const { startCollector } = await import('@meterseal/collector-system');
  handle = await startCollector(config as Parameters<typeof startCollector>[0], { log });
  log.info('collector ready');
} else {
  throw new Error(`unknown service ${String(kind).slice(0, 20)}`);
}
process.once('SIGTERM', () => void handle.close().then(() => process.exit(0)));
