// Test harness: a ledger on ephemeral ports in a temporary data directory with a whitelist, closed in
// teardown; and a controllable clock.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { startLedger, type LedgerHandle } from '../service.js';
import type { LedgerConfigInput } from '../config.js';
import { FakeMeter, type FakeMeterOptions } from './fake-meter.js';

/** The parts of a tap Test the harness needs. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface WhitelistEntry {
  meterId: string;
  customerAccount: string;
}

export function tempDir(t: Teardown, prefix = 'meterseal-ledger-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeWhitelist(dataDir: string, meters: WhitelistEntry[]): void {
  writeFileSync(join(dataDir, 'whitelist.json'), JSON.stringify({ meters }, null, 2));
}

export class ManualClock {
  constructor(public ms = Date.UTC(2026, 10, 21, 12, 0, 0)) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface TestLedger {
  ledger: LedgerHandle;
  dataDir: string;
  log: Logger;
  /** Connects a FakeMeter to this ledger's broker, closed in teardown. */
  meter(o: Omit<FakeMeterOptions, 'url'>): Promise<FakeMeter>;
}

export async function startTestLedger(
  t: Teardown,
  o: { meters?: WhitelistEntry[]; dataDir?: string; config?: Partial<LedgerConfigInput>; now?: () => number; log?: Logger } = {},
): Promise<TestLedger> {
  const dataDir = o.dataDir ?? tempDir(t);
  if (o.meters) writeWhitelist(dataDir, o.meters);
  const log = o.log ?? pino({ level: 'silent' });
  const ledger = await startLedger(
    { dataDir, mqtt: { port: 0 }, http: { port: 0 }, ...o.config },
    o.now ? { log, now: o.now } : { log },
  );
  t.teardown(() => ledger.close());
  return {
    ledger,
    dataDir,
    log,
    async meter(m) {
      const meter = await FakeMeter.connect({ url: ledger.mqttUrl, ...m });
      t.teardown(() => meter.close());
      return meter;
    },
  };
}
