// The whole collection system as the CLI runs it: startCollector with the ledger's key files, meters over
// MQTT, reconciliation through the real air-gap controller, and the insider's edit found (T-I1).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startAirgap } from '@meterseal/airgap-controller';
import { toHex } from '@meterseal/protocol';
import { tamperStoredReadings } from './insider.js';
import { startCollector } from './service.js';
import { deliver, makeLedgerKey, makeMeter, makeReading } from './testing/fixtures.js';
import { startFakeLedger } from './testing/fake-ledger.js';
import { connectMeter, silentLog, tempDir } from './testing/harness.js';

const key = makeLedgerKey();

t.test('meters deliver, the ledger anchors, an insider edits two values, and reconciliation names them', async (t) => {
  const dir = tempDir(t);
  const ledgerDir = join(dir, 'ledger');
  mkdirSync(ledgerDir);
  writeFileSync(join(ledgerDir, 'ledger.pub'), `${key.publicKeyHex}\n`);
  writeFileSync(join(ledgerDir, 'ledger.vkey'), `${key.vkey}\n`);
  const ledger = await startFakeLedger(key);
  t.teardown(() => ledger.close());
  const airgap = await startAirgap({ target: ledger.endpoint, auditLog: join(dir, 'airgap', 'audit.jsonl') }, { log: silentLog });
  t.teardown(() => airgap.close());

  const collector = await startCollector({ dataDir: join(dir, 'collector'), mqtt: { port: 0 }, trust: { ledgerKeyDir: ledgerDir } }, { log: silentLog });
  t.teardown(() => collector.close());
  t.match(collector.mqttUrl, /^mqtt:\/\/127\.0\.0\.1:\d+$/);

  for (const meterId of ['DDSU666-000001', 'DDSU666-000002']) {
    const meter = makeMeter(meterId, key);
    const client = await connectMeter(t, collector.mqttUrl, meterId);
    t.match(await client.announce(meter.announcement, toHex(meter.keyId)), { ok: true });
    for (let seq = 1n; seq <= 15n; seq++) {
      const d = deliver(meter, makeReading(meterId, seq));
      ledger.anchor(meter, d);
      t.match(await client.deliver(seq, d.payload), { ok: true, duplicate: false });
    }
  }
  t.match(collector.stats(), { collected: 30, keys: 2, pending: 0 });

  const first = await collector.reconcile({ reason: 'scheduled reconciliation', airgap: airgap.controlAddress });
  t.same(first.counts, { matched: 30, tampered: 0, missing: 0, unanchored: 0, conflicts: 0, pending: 0 });

  const changed = tamperStoredReadings(collector.store, 2);
  const second = await collector.reconcile({ reason: 'final reconciliation', airgap: airgap.controlAddress, maxMs: 10_000 });
  t.same(second.counts, { matched: 28, tampered: 2, missing: 0, unanchored: 0, conflicts: 0, pending: 0 });
  t.same(second.items.map((it) => [it.meterId, it.seq, it.outcome]), changed.map((c) => [c.meterId, String(c.seq), 'tampered']));
  t.ok(existsSync(join(dir, 'collector', 'reports', `${second.id}.json`)));
  t.same(await collector.store.reportIds(), [second.id, first.id]);
  t.match(airgap.stats(), { windows: 2, open: false });
});

t.test('one reconciliation at a time; reconcile-only mode needs no broker; a bare public key cannot reconcile', async (t) => {
  const dir = tempDir(t);
  const ledger = await startFakeLedger(key);
  t.teardown(() => ledger.close());
  const airgap = await startAirgap({ target: ledger.endpoint, auditLog: join(dir, 'audit.jsonl') }, { log: silentLog });
  t.teardown(() => airgap.close());

  const offline = await startCollector(
    { dataDir: join(dir, 'c1'), ingest: false, mqtt: { embedded: false, url: 'mqtt://127.0.0.1:1' }, trust: { ledgerVerifierKey: key.vkey }, airgap: airgap.controlAddress },
    { log: silentLog },
  );
  t.teardown(() => offline.close());
  const a = offline.reconcile({ reason: 'first' });
  await t.rejects(offline.reconcile({ reason: 'second' }), { code: 'RECONCILE_BUSY' });
  t.same((await a).counts, { matched: 0, tampered: 0, missing: 0, unanchored: 0, conflicts: 0, pending: 0 });

  const bare = await startCollector({ dataDir: join(dir, 'c2'), mqtt: { port: 0 }, trust: { ledgerPublicKey: key.publicKeyHex } }, { log: silentLog });
  t.teardown(() => bare.close());
  await t.rejects(bare.reconcile({ reason: 'x', airgap: airgap.controlAddress }), { code: 'TRUST_MISSING' });
  t.equal(airgap.stats().windows, 1, 'no window was opened for it');
});

t.test('configuration and trust errors are typed and name the field', async (t) => {
  const dir = tempDir(t);
  await t.rejects(startCollector({ dataDir: dir, mqtt: { port: 70_000 }, trust: { ledgerVerifierKey: key.vkey } }, { log: silentLog }), {
    code: 'CONFIG_INVALID', message: /mqtt\.port/,
  });
  await t.rejects(startCollector({ dataDir: dir }, { log: silentLog }), { code: 'TRUST_MISSING' });
  await t.rejects(startCollector({ dataDir: dir, trust: { ledgerVerifierKey: 'nope' } }, { log: silentLog }), { code: 'TRUST_INVALID' });
  await t.rejects(startCollector({ dataDir: dir, trust: { ledgerKeyDir: dir } }, { log: silentLog }), { code: 'TRUST_MISSING', message: /ledger\.pub/ });
});
