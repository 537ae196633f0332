// Reconciliation through the real air-gap controller (@meterseal/airgap-controller) in front of the fake
// ledger: the relay is closed before and after, every window is audited, and a window that closes under
// a run fails it cleanly (T-I4).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startAirgap, type AirgapHandle } from '@meterseal/airgap-controller';
import { parseVerifierKey } from '@meterseal/protocol';
import { openSqliteStore, type SqliteCollectorStore } from './sqlite-store.js';
import { deliver, makeLedgerKey, makeMeter, makeReading } from './testing/fixtures.js';
import { startFakeLedger, type FakeLedger } from './testing/fake-ledger.js';
import { freePort, probe, silentLog, tempDir, type Teardown } from './testing/harness.js';
import { reconcileThroughAirgap } from './window.js';

const key = makeLedgerKey();
const verifier = parseVerifierKey(key.vkey);

interface Setup {
  store: SqliteCollectorStore;
  ledger: FakeLedger;
  airgap: AirgapHandle;
  relayPort: number;
  auditLog: string;
}

async function setup(t: Teardown, maxWindowMs = 60_000): Promise<Setup> {
  const dir = tempDir(t);
  const store = openSqliteStore(dir);
  t.teardown(() => store.close());
  const ledger = await startFakeLedger(key);
  t.teardown(() => ledger.close());
  const meter = makeMeter('M-1', key);
  const batch = [];
  for (let seq = 1n; seq <= 10n; seq++) {
    const d = deliver(meter, makeReading('M-1', seq));
    ledger.anchor(meter, d);
    batch.push({ reading: d.reading, bytes: d.readingBytes, keyId: meter.keyId, signature: d.signature, receivedAt: '2026-11-21T12:00:00.000Z' });
  }
  await store.insertReadings(batch);
  const relayPort = await freePort();
  const auditLog = join(dir, 'airgap', 'audit.jsonl');
  const airgap = await startAirgap(
    { control: { host: '127.0.0.1', port: 0 }, relay: { host: '127.0.0.1', port: relayPort }, target: ledger.endpoint, maxWindowMs, auditLog },
    { log: silentLog },
  );
  t.teardown(() => airgap.close());
  return { store, ledger, airgap, relayPort, auditLog };
}

const audit = (path: string): Record<string, unknown>[] =>
  readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);

t.test('the ledger is reachable only during the window the reconciliation opens, and the window is audited', async (t) => {
  const s = await setup(t);
  t.equal(await probe(s.relayPort), 'ECONNREFUSED', 'before: the relay refuses');
  t.equal(await probe(s.ledger.endpoint.port), 'connected', '(the ledger itself is up)');

  const report = await reconcileThroughAirgap({ store: s.store, airgap: s.airgap.controlAddress, verifier, reason: 'test reconciliation', log: silentLog });
  t.same(report.counts, { matched: 10, tampered: 0, missing: 0, unanchored: 0, conflicts: 0, pending: 0 });

  t.equal(await probe(s.relayPort), 'ECONNREFUSED', 'after: the relay refuses again');
  t.match(s.airgap.stats(), { windows: 1, open: false });
  const lines = audit(s.auditLog);
  t.equal(lines.length, 2);
  t.match(lines[0], { event: 'open', reason: 'test reconciliation' });
  t.match(lines[1], { event: 'close', reason: 'test reconciliation', closedBy: 'requested', windowId: lines[0]!.windowId });
  t.ok((lines[1]!.bytesFromTarget as number) > 0, 'the ledger\'s answers went through the relay');
  t.ok(s.ledger.requests.includes('/v1/index?start=0&count=10000'));
});

t.test('a window that closes under the run fails it with WINDOW_CLOSED, and the relay is closed', async (t) => {
  const s = await setup(t, 300);
  s.ledger.holdAnchors = true; // the ledger never answers: the controller's deadline closes the window
  await t.rejects(
    reconcileThroughAirgap({ store: s.store, airgap: s.airgap.controlAddress, verifier, reason: 'slow run', log: silentLog }),
    { name: 'CollectorError', code: 'WINDOW_CLOSED', message: /max-duration/ },
  );
  t.equal(await probe(s.relayPort), 'ECONNREFUSED');
  t.same(await s.store.reportIds(), [], 'no partial report');
  t.match(audit(s.auditLog)[1], { event: 'close', closedBy: 'max-duration' });
});

t.test('a failed run still closes its window; an unreachable controller is WINDOW_FAILED', async (t) => {
  const s = await setup(t);
  s.ledger.signer = makeLedgerKey(key.origin).signer;
  await t.rejects(
    reconcileThroughAirgap({ store: s.store, airgap: s.airgap.controlAddress, verifier, reason: 'bad checkpoint', log: silentLog }),
    { code: 'CHECKPOINT_INVALID' },
  );
  t.equal(await probe(s.relayPort), 'ECONNREFUSED');
  t.match(audit(s.auditLog)[1], { event: 'close', closedBy: 'requested' });

  await t.rejects(
    reconcileThroughAirgap({ store: s.store, airgap: { host: '127.0.0.1', port: await freePort() }, verifier, reason: 'x', log: silentLog }),
    { code: 'WINDOW_FAILED' },
  );
});
