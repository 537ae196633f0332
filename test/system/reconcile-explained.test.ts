// Issue 7 item 3 and issue 6 item 2, end to end: a real agent records signed gaps for failed reads and signs a
// correction of an earlier reading; the real ledger anchors all of them; the real collector stores them apart; a
// reconciliation through the real air-gap controller (collector.reconcile) reports the gaps `explained` and the
// corrected reading `adjusted` with both values. An insider who deletes a stored reading and plants a gap record
// over the hole gets no explanation: the seq is `missing`.
import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { startAirgap } from '@meterseal/airgap-controller';
import { startAgent } from '@meterseal/device';
import { GapReason, encodeGap } from '@meterseal/protocol';
import { countingSource, freePort, ledgerAnchors, startBackends, waitUntil } from '../../edge-gateway/src/testing.js';

const log = pino({ level: 'silent' });

t.test('gaps explained and a correction shown adjusted in a real reconciliation run; a planted gap explains nothing', async (t) => {
  const meter = { meterId: 'RX-1', customerAccount: 'ACC-RX' };
  const b = await startBackends([meter]);
  t.teardown(() => b.close());
  const src = countingSource();
  const agent = await startAgent(
    { dataDir: join(b.dir, 'agent'), ...meter, intervalMs: 100, requestTimeoutMs: 5000, ledger: { url: b.ledgerUrl }, collector: { url: b.collectorUrl } },
    { log, source: src },
  );
  t.teardown(() => agent.close());
  await agent.enrolled;
  await waitUntil('a few readings', () => src.reads >= 3, 60_000);
  src.fail = true;
  await waitUntil('gaps for failed intervals', () => agent.stats().readErrors >= 2, 60_000);
  src.fail = false;
  const at = src.reads;
  await waitUntil('readings again', () => src.reads >= at + 3, 60_000);
  await agent.stopReadings();

  const collector = b.collector!;
  await waitUntil('delivered', () => agent.drained(), 60_000);
  await collector.idle();
  const readings = await collector.store.readings('RX-1', 1n, 10_000n);
  const original = readings[0]!.reading;
  const correctionSeq = await agent.correct({ originalSeq: original.seq, registers: [{ obis: '1.0.1.8.0.255', value: 424_242n, scaler: 0, unit: 'Wh' }], reason: 'register offset after meter swap' });
  await waitUntil('the correction delivered', () => agent.drained(), 60_000);
  await collector.idle();
  const gaps = collector.gaps.explainedGaps('RX-1');
  t.ok(gaps.length >= 2, `the agent's gaps are stored (${gaps.length})`);
  t.equal(collector.corrections.count(), 1, 'the correction is stored apart');
  const last = BigInt(agent.stats().outbox.readings);
  t.equal(ledgerAnchors(b.ledgerDir).get('RX-1')?.length, Number(last), 'the ledger anchored every reading, gap and the correction');

  // the insider: delete the last stored reading and plant a gap record over it (a real key id, no valid signature)
  const victim = readings[readings.length - 1]!;
  const seqText = victim.reading.seq.toString().padStart(20, '0');
  const db = new Database(join(b.collectorDir, 'collector.sqlite'));
  db.prepare('DELETE FROM readings WHERE meter_id = ? AND seq = ?').run('RX-1', seqText);
  db.close();
  const planted = encodeGap({ meterId: 'RX-1', firstSeq: victim.reading.seq, lastSeq: victim.reading.seq, fromMs: 0n, toMs: 1n, reason: GapReason.PowerLoss, signer: '' });
  const gdb = new Database(join(b.collectorDir, 'gaps.sqlite'));
  gdb.prepare('INSERT INTO gaps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
    .run('RX-1', victim.reading.seq, victim.reading.seq, 0, 1, GapReason.PowerLoss, '', Buffer.from(planted), Buffer.from(victim.keyId), Buffer.alloc(64), new Date().toISOString());
  gdb.close();

  const relayPort = await freePort();
  const ledgerHttp = new URL(b.ledger!.httpUrl);
  const airgap = await startAirgap(
    { control: { host: '127.0.0.1', port: 0 }, relay: { host: '127.0.0.1', port: relayPort }, target: { host: ledgerHttp.hostname, port: Number(ledgerHttp.port) }, maxWindowMs: 60_000, auditLog: join(b.dir, 'airgap-audit.jsonl') },
    { log },
  );
  t.teardown(() => airgap.close());
  const report = await collector.reconcile({ reason: 'system test: explained gaps and corrections', airgap: airgap.controlAddress });

  t.same(report.explained?.map((e) => [e.seq, e.lastSeq, e.reason, e.signer]), gaps.map((g) => [g.firstSeq.toString(), g.lastSeq.toString(), 'SerialFailure', '']),
    'every gap the agent signed is explained, and nothing else');
  t.same(report.items.map((i) => [i.seq, i.outcome]), [[victim.reading.seq.toString(), 'missing']], 'the deleted reading is missing despite the planted gap');
  t.match(report.items[0]?.detail, /gap record .* is not the ledger's leaf at this seq; it explains nothing/);
  t.equal(report.adjusted?.length, 1);
  t.match(report.adjusted?.[0], {
    seq: original.seq.toString(), outcome: 'adjusted',
    collected: { registers: [{ obis: '1.0.1.8.0.255', value: original.registers[0]!.value.toString() }] },
    corrected: { seq: correctionSeq.toString(), reason: 'register offset after meter swap', registers: [{ obis: '1.0.1.8.0.255', value: '424242' }] },
  }, 'the original with its own values, the correction\'s beside it');
  t.match(report.meters?.find((m) => m.meterId === 'RX-1'), { explainedMissing: gaps.length, unexplainedMissing: 1 });
  t.equal(report.counts.matched, readings.length - 1, 'matched counts readings only');
  const [still] = await collector.store.readings('RX-1', original.seq, original.seq, 1);
  t.equal(still?.reading.registers[0]?.value, original.registers[0]!.value, 'the original reading is unchanged in the store');
});
