// Shared fixtures for the scripted attacks (docs/threat-model.md): one ledger (the collector package's test
// ledger, a real HTTP server serving signed checkpoints and proofs), the real air-gap controller and the real
// collector service (SQLite file, embedded MQTT broker), with meters speaking interface 2 over MQTT.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAirgap } from '@meterseal/airgap-controller';
import { DB_FILE, startCollector, type Report } from '@meterseal/collector-system';
import { toHex } from '@meterseal/protocol';
import { tempDir } from '@meterseal/ledger-service/testing/harness';
import { startWitness, type WitnessHandle } from '@meterseal/witness';
import { makeLedgerKey, makeMeter, deliver, makeReading, type TestMeter, type SignedDelivery } from '@meterseal/collector-system/testing/fixtures';
import { startFakeLedger, type FakeLedger } from '@meterseal/collector-system/testing/fake-ledger';
import { connectMeter, silentLog, type Teardown } from '@meterseal/collector-system/testing/harness';
import type { MeterClient } from '@meterseal/collector-system/testing/meter-client';

export { deliver, makeMeter, makeReading, silentLog };
export type { TestMeter, SignedDelivery, Report };

type Collector = Awaited<ReturnType<typeof startCollector>>;
type Airgap = Awaited<ReturnType<typeof startAirgap>>;

export interface World {
  dir: string;
  key: ReturnType<typeof makeLedgerKey>;
  ledger: FakeLedger;
  airgap: Airgap;
  collector: Collector;
  /** The collector's SQLite file (what an insider edits). */
  dbPath: string;
  /** A meter announced to the collector over MQTT, with a connected client. */
  meter(meterId: string): Promise<{ meter: TestMeter; client: MeterClient }>;
  /** The reconciliation the CLI runs (`meterseal collector reconcile`): through an air-gap window. */
  reconcile(): Promise<Report>;
}

/** Starts one world for a test file; everything is closed and removed at teardown. */
export async function startWorld(t: Teardown): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-attacks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = makeLedgerKey();
  const ledgerDir = join(dir, 'ledger');
  mkdirSync(ledgerDir);
  writeFileSync(join(ledgerDir, 'ledger.pub'), `${key.publicKeyHex}\n`);
  writeFileSync(join(ledgerDir, 'ledger.vkey'), `${key.vkey}\n`);
  const ledger = await startFakeLedger(key);
  t.teardown(() => ledger.close());
  const airgap = await startAirgap({ target: ledger.endpoint, auditLog: join(dir, 'airgap', 'audit.jsonl') }, { log: silentLog });
  t.teardown(() => airgap.close());
  // interval 1 s: readings made long ago are overdue, so an unanchored/missing one is reported, not pending
  const collector = await startCollector(
    { dataDir: join(dir, 'collector'), mqtt: { port: 0 }, trust: { ledgerKeyDir: ledgerDir }, readingIntervalMs: 1000 },
    { log: silentLog },
  );
  t.teardown(() => collector.close());
  return {
    dir, key, ledger, airgap, collector,
    dbPath: join(dir, 'collector', DB_FILE),
    async meter(meterId) {
      const meter = makeMeter(meterId, key);
      const client = await connectMeter(t, collector.mqttUrl, meterId);
      const answer = await client.announce(meter.announcement, toHex(meter.keyId));
      if (!(answer as { ok?: boolean }).ok) throw new Error(`announce of ${meterId} refused: ${JSON.stringify(answer)}`);
      return { meter, client };
    },
    reconcile: () => collector.reconcile({ reason: 'attack test', airgap: airgap.controlAddress, maxMs: 20_000 }),
  };
}

/** The report's items for one meter as [seq, outcome] pairs: what the attacks assert on (location + kind). */
export function located(report: Report, meterId: string): Array<[string, string]> {
  return report.items.filter((i) => i.meterId === meterId).map((i) => [i.seq, i.outcome]);
}

/** Flips one bit of a copy of `bytes` at `index`. */
export function flipBit(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const out = new Uint8Array(bytes);
  out[index] = (out[index] ?? 0) ^ (1 << bit);
  return out;
}

// ---- a real ledger (ledger-service) that grows on demand, and a standalone witness for it (T-L1) ----
export { startGrowingLedger, ledgerProof, type GrowingLedger } from '@meterseal/witness/testing/harness';

export async function startTestWitness(t: Teardown, ledger: { origin: string; verifierKey: string }, name = 'attacks.test/w1'): Promise<WitnessHandle> {
  const w = await startWitness(
    { dataDir: tempDir(t, 'meterseal-attacks-witness-'), name, http: { port: 0 }, logs: [{ origin: ledger.origin, verifierKey: ledger.verifierKey }] },
    { log: silentLog },
  );
  t.teardown(() => w.close());
  return w;
}

/** POST /add-checkpoint (c2sp.org/tlog-witness). */
export async function post(url: string, body: string) {
  const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}


/** A loopback port that was free a moment ago (for a back end the test does not start). */
export async function freePortFor(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const addr = s.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
