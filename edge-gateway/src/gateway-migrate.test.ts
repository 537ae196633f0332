// A gateway upgraded from the first layout (one outbox per meter under meters/<id>/outbox.sqlite) against a
// real ledger and collector: what was queued there is moved into the shared outbox on start, delivered once,
// and the seqs go on from where that meter's outbox left them.
import t from 'tap';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { Outbox } from '@meterseal/device';
import { OUTBOX_FILE, startGateway } from './gateway.js';
import { countingSource, ledgerAnchors, startBackends, waitUntil } from './testing.js';

const log = pino({ level: 'silent' });
const METER = { meterId: 'MG-1', customerAccount: 'ACC-MG', unitId: 1 };

t.test('a per-meter outbox with queued readings: migrated on start, delivered once, seqs continue', async (t) => {
  const b = await startBackends([METER]);
  t.teardown(() => b.close());
  const dataDir = join(b.dir, 'gateway');
  const config = { dataDir, gatewayId: 'GW-M', meters: [METER], intervalMs: 3_600_000, requestTimeoutMs: 1000, minFreeBytes: 0, ledger: { url: b.ledgerUrl }, collector: { url: b.collectorUrl } };
  const src = countingSource();
  let gw = await startGateway(config, { log, sources: { 'MG-1': src } });
  await gw.enrolled;
  await Promise.all([b.stopLedger(), b.stopCollector()]);
  for (let i = 0; i < 3; i++) await gw.pollNow();
  await gw.close();

  // rewrite what is queued as the first layout had it: the device Outbox schema in the meter's directory
  const shared = new Database(join(dataDir, OUTBOX_FILE), { readonly: true });
  shared.defaultSafeIntegers(true);
  const rows = shared.prepare(`SELECT seq, anchor, delivery FROM readings WHERE meter_id = 'MG-1' ORDER BY seq`).all() as { seq: bigint; anchor: Buffer; delivery: Buffer }[];
  const anns = shared.prepare(`SELECT key_id, payload FROM announcements WHERE meter_id = 'MG-1'`).all() as { key_id: string; payload: Buffer }[];
  shared.close();
  t.same(rows.map((r) => r.seq), [1n, 2n, 3n], 'three readings queued');
  const legacyPath = join(dataDir, 'meters', 'MG-1', 'outbox.sqlite');
  const legacy = new Outbox(legacyPath);
  for (const r of rows) legacy.enqueue(() => ({ anchor: r.anchor, delivery: r.delivery }));
  for (const a of anns) legacy.addAnnouncement(a.key_id, a.payload);
  legacy.close();
  for (const f of ['', '-wal', '-shm']) rmSync(join(dataDir, OUTBOX_FILE + f), { force: true });

  await Promise.all([b.startLedger(), b.startCollector()]);
  gw = await startGateway(config, { log, sources: { 'MG-1': src } });
  t.teardown(() => gw.close());
  t.notOk(existsSync(legacyPath), 'the per-meter outbox was moved aside');
  t.ok(existsSync(`${legacyPath}.migrated`), 'and kept as *.migrated');
  await gw.enrolled;
  await gw.pollNow();
  await waitUntil('everything delivered', () => gw.drained());
  t.equal(gw.stats().meters['MG-1']!.nextSeq, '5', 'the seqs went on from the migrated outbox');
  t.same(ledgerAnchors(b.ledgerDir).get('MG-1'), [1n, 2n, 3n, 4n], 'the ledger anchored 1..4 once each');
  t.same((await b.collector!.store.readings('MG-1', 1n, 10n)).map((r) => r.reading.seq), [1n, 2n, 3n, 4n], 'the collector holds 1..4 once each');
});
