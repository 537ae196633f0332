// Test rig shared by the gateway's tests, the system tests and the bench: a real ledger and a real collector
// (each with its embedded aedes broker on a loopback port) in a temp directory, each stoppable and restartable
// on the same port and data directory; counts read back from their SQLite stores.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino, { type Logger } from 'pino';
import { startLedger, type LedgerHandle } from '@meterseal/ledger-service';
import { startCollector, type CollectorHandle } from '@meterseal/collector-system';
import type { MeterSource, Sample } from '@meterseal/device';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting until ${what}`);
}

export interface Backends {
  dir: string;
  ledgerDir: string;
  collectorDir: string;
  ledgerUrl: string;
  collectorUrl: string;
  ledger: LedgerHandle | null;
  collector: CollectorHandle | null;
  startLedger(): Promise<LedgerHandle>;
  stopLedger(): Promise<void>;
  startCollector(): Promise<CollectorHandle>;
  stopCollector(): Promise<void>;
  close(): Promise<void>;
}

export async function startBackends(meters: { meterId: string; customerAccount: string }[], log: Logger = pino({ level: 'silent' })): Promise<Backends> {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-gw-'));
  const ledgerDir = join(dir, 'ledger');
  const collectorDir = join(dir, 'collector');
  mkdirSync(ledgerDir, { recursive: true });
  writeFileSync(join(ledgerDir, 'whitelist.json'), JSON.stringify({ meters: meters.map(({ meterId, customerAccount }) => ({ meterId, customerAccount })) }));
  const [lm, lh, cm] = await Promise.all([freePort(), freePort(), freePort()]);
  const b: Backends = {
    dir, ledgerDir, collectorDir,
    ledgerUrl: `mqtt://127.0.0.1:${lm}`,
    collectorUrl: `mqtt://127.0.0.1:${cm}`,
    ledger: null,
    collector: null,
    async startLedger() {
      return (b.ledger = await startLedger({ dataDir: ledgerDir, mqtt: { port: lm }, http: { port: lh } }, { log }));
    },
    async stopLedger() {
      await b.ledger?.close();
      b.ledger = null;
    },
    async startCollector() {
      return (b.collector = await startCollector({ dataDir: collectorDir, mqtt: { port: cm }, trust: { ledgerKeyDir: ledgerDir } }, { log }));
    },
    async stopCollector() {
      await b.collector?.close();
      b.collector = null;
    },
    async close() {
      await b.stopCollector();
      await b.stopLedger();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await b.startLedger();
  await b.startCollector();
  return b;
}

/** (meter -> anchored seqs, ascending) straight from the ledger's SQLite file (a second, read-only connection). */
export function ledgerAnchors(ledgerDir: string): Map<string, bigint[]> {
  const db = new Database(join(ledgerDir, 'ledger.sqlite'), { readonly: true });
  try {
    db.defaultSafeIntegers(true);
    const rows = db
      .prepare(`SELECT m.meter_id AS id, a.seq AS seq FROM anchors a JOIN anchor_meters m ON a.meter = m.num ORDER BY m.meter_id, a.seq`)
      .all() as { id: string; seq: bigint }[];
    const out = new Map<string, bigint[]>();
    for (const r of rows) out.set(r.id, [...(out.get(r.id) ?? []), BigInt(r.seq)]);
    return out;
  } finally {
    db.close();
  }
}

/** A meter that always answers: energy counts up by one per read. */
export function countingSource(): MeterSource & { reads: number; fail: boolean } {
  const s = {
    reads: 0,
    fail: false,
    lastReadRetried: false,
    async open() {},
    async close() {},
    async read(): Promise<Sample[]> {
      if (s.fail) throw Object.assign(new Error('no answer from the meter'), { code: 'TIMEOUT' });
      s.reads++;
      return [{ obis: '1.0.1.8.0.255', value: BigInt(1000 + s.reads), scaler: 0, unit: 'Wh', raw: new Uint8Array([0, 0, 3, s.reads & 0xff]) }];
    },
  };
  return s;
}

/** Every seq from 1 to last is either a stored reading or inside exactly one explained gap. */
export function seqCoverage(readings: bigint[], gaps: { firstSeq: bigint; lastSeq: bigint }[], last: bigint): { missing: bigint[]; doubled: bigint[] } {
  const seen = new Map<bigint, number>();
  for (const s of readings) seen.set(s, (seen.get(s) ?? 0) + 1);
  for (const g of gaps) for (let s = g.firstSeq; s <= g.lastSeq; s++) seen.set(s, (seen.get(s) ?? 0) + 1);
  const missing: bigint[] = [];
  const doubled: bigint[] = [];
  for (let s = 1n; s <= last; s++) {
    const n = seen.get(s) ?? 0;
    if (n === 0) missing.push(s);
    if (n > 1) doubled.push(s);
  }
  return { missing, doubled };
}
