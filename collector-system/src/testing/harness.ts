// Shared by the package's tests: temp directories, a silent logger, a collector with its embedded broker.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startCollector, type CollectorHandle } from '../service.js';
import type { CollectorConfigInput } from '../config.js';
import { MeterClient, type MeterClientOptions } from './meter-client.js';
import type { TestLedgerKey } from './fixtures.js';

export const silentLog = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export function tempDir(t: Teardown, prefix = 'collector-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A collector on an ephemeral port trusting `ledger`, closed at teardown. */
export async function startTestCollector(
  t: Teardown,
  ledger: TestLedgerKey,
  overrides: Partial<CollectorConfigInput> = {},
): Promise<{ collector: CollectorHandle; dataDir: string }> {
  const dataDir = overrides.dataDir ?? tempDir(t);
  const collector = await startCollector(
    { dataDir, mqtt: { port: 0 }, trust: { ledgerVerifierKey: ledger.vkey }, ...overrides },
    { log: silentLog },
  );
  t.teardown(() => collector.close());
  return { collector, dataDir };
}

export async function connectMeter(t: Teardown, url: string, meterId: string, options: MeterClientOptions = {}): Promise<MeterClient> {
  const meter = await MeterClient.connect(url, meterId, options);
  t.teardown(() => meter.close());
  return meter;
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** "connected", or the error code of connecting to 127.0.0.1:port (ECONNREFUSED when nothing listens). */
export function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}
