import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { AuditLog } from './audit.js';
import { parseAirgapConfig, type AirgapConfigInput } from './config.js';
import { ControlConnection } from './control-connection.js';
import type { AirgapDriver, Endpoint } from './drivers/driver.js';
import { AirgapError } from './errors.js';
import { isLoopbackAddress } from './loopback.js';
import { createDriver } from './drivers/create-driver.js';
import { WindowManager, type AirgapStats } from './window-manager.js';
import { LedgerRecorder } from './ledger-record.js';
import { ScheduleGate } from './schedule.js';

export type { AirgapStats, WindowInfo } from './window-manager.js';

export interface AirgapHandle {
  /** Where the control port actually listens (port 0 in the config is resolved here). */
  readonly controlAddress: Endpoint;
  stats(): AirgapStats;
  /** Closes any open window (reason "shutdown"), the control port and the audit log. Idempotent. */
  close(): Promise<void>;
}

/** At most this many control connections at once; the collector needs one. */
const MAX_CONTROL_CONNECTIONS = 32;

function listen(server: Server, { host, port }: Endpoint): Promise<Endpoint> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('control server has no TCP address'));
      else resolve({ host: address.address, port: address.port });
    });
  });
}

/** Starts the air-gap controller: the control port on loopback, the driver closed, the audit log open. */
/**
 * `driver` replaces the one the config names (tests, or an embedder with its own GpioLine); the config's
 * driver section is still validated.
 */
export async function startAirgap(
  configInput: AirgapConfigInput,
  { log, driver: injected }: { log: Logger; driver?: AirgapDriver },
): Promise<AirgapHandle> {
  const config = parseAirgapConfig(configInput);
  const refusals: { to?: WindowManager } = {}; // the relay reports refused requests to the window manager (audit)
  const driver = injected ?? createDriver(config, log, { onRefused: (r) => refusals.to?.refused(r) });
  try {
    await driver.init?.(); // fail-safe: the gap starts closed, verified, before anyone can ask for a window
  } catch (cause) {
    log.fatal({ err: cause, driver: driver.name }, 'driver could not force the gap closed at start');
    throw new AirgapError('DRIVER_FAILED', `the ${driver.name} driver could not force the gap closed at start`, { cause });
  }
  const audit = new AuditLog(config.auditLog);
  const schedule = config.schedule ? new ScheduleGate(config.schedule.cron, config.schedule.slotMs) : undefined;
  let recorder: LedgerRecorder | undefined;
  try {
    recorder = config.ledgerRecord ? new LedgerRecorder(config.ledgerRecord, log) : undefined;
  } catch (err) {
    await schedule?.stop();
    audit.close();
    throw err;
  }
  const windows = new WindowManager(config, log, driver, audit, { ...(schedule ? { schedule } : {}), ...(recorder ? { recorder } : {}) });
  refusals.to = windows;
  let nextConnection = 1;
  const server = createServer((socket: Socket) => {
    if (windows.shuttingDown || !isLoopbackAddress(socket.remoteAddress)) {
      log.warn({ remote: socket.remoteAddress }, 'control connection refused');
      socket.destroy();
      return;
    }
    windows.connections.add(new ControlConnection(nextConnection++, socket, windows, log));
  });
  server.maxConnections = MAX_CONTROL_CONNECTIONS;
  server.on('error', (err) => log.error({ err }, 'control server error'));
  let controlAddress: Endpoint;
  try {
    controlAddress = await listen(server, config.control);
  } catch (cause) {
    audit.close();
    await schedule?.stop();
    await driver.dispose?.().catch((err: unknown) => log.fatal({ err }, 'driver dispose failed'));
    throw new AirgapError('LISTEN_FAILED', `cannot listen for control connections on ${config.control.host}:${config.control.port}`, { cause });
  }
  log.info({ control: controlAddress, driver: config.driver, target: config.target }, 'airgap controller listening');

  let closing: Promise<void> | undefined;
  return {
    controlAddress,
    stats: () => windows.stats(),
    close: () =>
      (closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await windows.closeAll();
        for (const connection of windows.connections) connection.end();
        await serverClosed;
        await driver.dispose?.().catch((err: unknown) => log.fatal({ err }, 'driver could not leave the gap closed at shutdown'));
        await schedule?.stop();
        await recorder?.close();
        audit.close();
        log.info('airgap controller closed');
      })()),
  };
}
