// Downstream dedup by (meter, seq), as at-least-once delivery needs it: the ledger and the collector answer a
// resent reading or gap with duplicate: true and store nothing twice; a gap signed with a key that does not
// cover it is refused by both.
import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import {
  CollectorTopics, GapReason, LedgerTopics, decodeGapDelivery, gapTopic, generateKeyPair, keyId, signGap,
} from '@meterseal/protocol';
import { RpcClient } from '@meterseal/device';
import { startGateway } from './gateway.js';
import { OUTBOX_FILE } from './gateway.js';
import { countingSource, ledgerAnchors, startBackends, waitUntil } from './testing.js';

const log = pino({ level: 'silent' });

t.test('resent readings and gaps are duplicates on both paths; a forged gap is refused', async (t) => {
  const meter = { meterId: 'DD-1', customerAccount: 'ACC-DD' };
  const b = await startBackends([meter]);
  t.teardown(() => b.close());
  const src = countingSource();
  const gw = await startGateway({
    dataDir: join(b.dir, 'gateway'), gatewayId: 'GW-D', meters: [meter], intervalMs: 3_600_000, requestTimeoutMs: 2000,
    minFreeBytes: 0, pruneAcked: false, ledger: { url: b.ledgerUrl }, collector: { url: b.collectorUrl },
  }, { log, sources: { 'DD-1': src } });
  t.teardown(() => gw.close());
  await gw.enrolled;
  await gw.pollNow();
  src.fail = true;
  await gw.pollNow(); // seq 2: a gap
  await waitUntil('delivered', () => gw.drained());

  const db = new Database(join(b.dir, 'gateway', OUTBOX_FILE), { readonly: true });
  const rows = db.prepare(`SELECT seq, anchor, delivery FROM readings WHERE meter_id = 'DD-1' ORDER BY seq`).all() as { seq: number; anchor: Buffer; delivery: Buffer }[];
  db.close();
  t.equal(rows.length, 2);
  const ledger = new RpcClient('ledger', b.ledgerUrl, 'DD-1', log, 5000, 3);
  const collector = new RpcClient('collector', b.collectorUrl, 'DD-1', log, 5000, 3);
  t.teardown(async () => {
    await ledger.close();
    await collector.close();
  });
  await Promise.all([ledger.waitConnected(10_000), collector.waitConnected(10_000)]);

  const reading = rows[0]!;
  const ra = await ledger.request('anchor', '1', LedgerTopics.anchor('DD-1'), reading.anchor);
  t.match(ra, { ok: true, duplicate: true }, 'ledger: the same anchor again is a duplicate');
  const rd = await collector.request('delivery', '1', CollectorTopics.reading('DD-1'), reading.delivery);
  t.match(rd, { ok: true, duplicate: true }, 'collector: the same reading again is a duplicate');
  const gap = rows[1]!;
  t.match(await ledger.request('anchor', '2', gapTopic('DD-1'), gap.anchor), { ok: true, duplicate: true }, 'ledger: the same gap again is a duplicate');
  t.match(await collector.request('delivery', '2', CollectorTopics.reading('DD-1'), gap.delivery), { ok: true, duplicate: true }, 'collector: the same gap again is a duplicate');
  t.same(ledgerAnchors(b.ledgerDir).get('DD-1'), [1n, 2n], 'the ledger still holds each seq once');
  t.equal((await b.collector!.store.readings('DD-1', 1n, 10n)).length, 1, 'the collector still holds one reading');
  t.equal(b.collector!.gaps.explainedGaps('DD-1').length, 1, 'and one gap');

  // a gap for seq 3 signed by a key nobody bound: refused by both, stored by neither
  const other = generateKeyPair();
  const forged = signGap({ meterId: 'DD-1', firstSeq: 3n, lastSeq: 9n, fromMs: 0n, toMs: 1n, reason: GapReason.PowerLoss, signer: '' },
    { keyId: decodeGapDelivery(gap.delivery).keyId, secretKey: other.secretKey });
  t.match(await ledger.request('anchor', '3', gapTopic('DD-1'), forged), { ok: false, error: { code: 'BAD_SIGNATURE' } }, 'ledger: forged gap refused');
  t.match(await collector.request('delivery', '3', CollectorTopics.reading('DD-1'), forged), { ok: false, error: { code: 'BAD_SIGNATURE' } }, 'collector: forged gap refused');
  const unknownKey = signGap({ meterId: 'DD-1', firstSeq: 3n, lastSeq: 3n, fromMs: 0n, toMs: 1n, reason: GapReason.PowerLoss, signer: '' },
    { keyId: keyId(other.publicKey), secretKey: other.secretKey });
  t.match(await ledger.request('anchor', '3', gapTopic('DD-1'), unknownKey), { ok: false, error: { code: 'NO_SESSION_KEY' } }, 'ledger: unbound key refused');
  const other1 = new RpcClient('ledger', b.ledgerUrl, 'OTHER', log, 5000, 3); // answers go to the topic's meter
  t.teardown(() => other1.close());
  await other1.waitConnected(10_000);
  t.match(await other1.request('anchor', '3', gapTopic('OTHER'), forged), { ok: false, error: { code: 'TOPIC_MISMATCH' } }, 'ledger: a gap on another meter\'s topic is refused');
  t.same(ledgerAnchors(b.ledgerDir).get('DD-1'), [1n, 2n], 'nothing forged was anchored');
  t.equal(b.collector!.gaps.explainedGaps('DD-1').length, 1, 'nothing forged was stored');
});
