// Scripted attacks on interface 2 and on the collector's database, each detected by the shipped collector
// (ingest + reconciliation through the real air gap) and located by (meter, seq, kind). Rows: docs/threat-model.md.
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { generateKeyPair } from '@meterseal/protocol';
import { editStoredReading } from '@meterseal/collector-system';
import { deliver, flipBit, located, makeMeter, makeReading, startWorld, type World } from './harness.js';

let w: World;
t.before(async () => {
  w = await startWorld(t);
});

/** Seqs 1..3 of a new meter delivered and anchored; the insider's handle on the collector's SQLite, and the stored seq keys. */
async function threeStored(t: Test, meterId: string): Promise<{ db: Database.Database; seqs: unknown[]; meterId: string }> {
  const { meter, client } = await w.meter(meterId);
  for (let seq = 1n; seq <= 3n; seq++) {
    const d = deliver(meter, makeReading(meter.meterId, seq));
    w.ledger.anchor(meter, d);
    t.match(await client.deliver(seq, d.payload), { ok: true });
  }
  const db = new Database(w.dbPath);
  const seqs = (db.prepare('SELECT seq FROM readings WHERE meter_id = ? ORDER BY seq').all(meterId) as Array<{ seq: unknown }>).map((r) => r.seq);
  return { db, seqs, meterId };
}

t.test('T-N2: a reading dropped before the collector is missing at reconciliation, at its seq', async (t) => {
  const { meter, client } = await w.meter('ATK-DROP-01');
  for (let seq = 1n; seq <= 5n; seq++) {
    const d = deliver(meter, makeReading(meter.meterId, seq));
    w.ledger.anchor(meter, d);
    if (seq !== 3n) t.match(await client.deliver(seq, d.payload), { ok: true });
  }
  const report = await w.reconcile();
  t.same(located(report, meter.meterId), [['3', 'missing']], 'only seq 3 is reported, as missing');
});

t.test('T-N2: reordered delivery is still all matched, nothing lost', async (t) => {
  const { meter, client } = await w.meter('ATK-ORDER-01');
  const ds = [1n, 2n, 3n, 4n, 5n].map((seq) => deliver(meter, makeReading(meter.meterId, seq)));
  for (const d of ds) w.ledger.anchor(meter, d);
  for (const i of [4, 2, 0, 3, 1]) t.match(await client.deliver(ds[i]!.reading.seq, ds[i]!.payload), { ok: true, duplicate: false });
  const report = await w.reconcile();
  t.same(located(report, meter.meterId), [], 'no item for the meter: every reading matched');
});

t.test('T-N3: a replayed reading is deduplicated; a different payload for a used seq is a located conflict', async (t) => {
  const { meter, client } = await w.meter('ATK-REPLAY-01');
  const d = deliver(meter, makeReading(meter.meterId, 1n));
  w.ledger.anchor(meter, d);
  t.match(await client.deliver(1n, d.payload), { ok: true, duplicate: false });
  t.match(await client.deliver(1n, d.payload), { ok: true, duplicate: true }, 'the exact replay is a duplicate');
  const other = deliver(meter, makeReading(meter.meterId, 1n, 42n)); // validly signed, different value
  t.match(await client.deliver(1n, other.payload), { ok: false, error: { code: 'CONFLICT' } }, 'a second reading for seq 1 is refused as a conflict');
  const report = await w.reconcile();
  t.same(located(report, meter.meterId), [['1', 'conflict']], 'reconciliation names (meter, 1) as a conflict');
});

t.test('T-N1: a bit flipped in transit is refused BAD_SIGNATURE at ingest and missing at reconciliation', async (t) => {
  const { meter, client } = await w.meter('ATK-FLIP-01');
  const d = deliver(meter, makeReading(meter.meterId, 1n));
  w.ledger.anchor(meter, d);
  // flip a bit inside the reading's register value (the end of the payload is the signature; the middle is the reading)
  const flipped = flipBit(d.payload, Math.floor(d.payload.length / 2));
  t.match(await client.deliver(1n, flipped), { ok: false, error: { code: 'BAD_SIGNATURE' } });
  const report = await w.reconcile();
  t.same(located(report, meter.meterId), [['1', 'missing']]);
});

t.test('T-I1: a value edited at rest in the collector SQLite is tampered, at its seq', async (t) => {
  const { db, seqs, meterId } = await threeStored(t, 'ATK-EDIT-01');
  db.close();
  // the stored bytes decoded, the energy value changed, the bytes written back (canonical, not signed again)
  const changed = editStoredReading(w.dbPath, meterId, BigInt(seqs[1] as string), (r) => ({ ...r, registers: r.registers.map((g, i) => (i === 0 ? { ...g, value: 999_999_999n } : g)) }));
  t.ok(changed, 'the insider changed one stored value');
  const report = await w.reconcile();
  t.same(located(report, meterId), [['2', 'tampered']]);
});

t.test('T-I2: a row deleted from the collector SQLite is missing, at its seq', async (t) => {
  const { db, seqs, meterId } = await threeStored(t, 'ATK-DELETE-01');
  const gone = db.prepare('DELETE FROM readings WHERE meter_id = ? AND seq = ?').run(meterId, seqs[2]).changes;
  db.close();
  t.equal(gone, 1, 'the insider deleted one reading');
  const report = await w.reconcile();
  t.same(located(report, meterId), [['3', 'missing']]);
});

t.test('T-N4: a forged reading (valid format, signed with a key the meter never bound) is refused', async (t) => {
  const { meter, client } = await w.meter('ATK-FORGE-01');
  const forger = { ...meter, session: generateKeyPair() }; // same key id claimed, wrong secret key
  const d = deliver(forger, makeReading(meter.meterId, 1n));
  t.match(await client.deliver(1n, d.payload), { ok: false, error: { code: 'BAD_SIGNATURE' } });
  t.equal((await w.reconcile()).items.filter((i) => i.meterId === meter.meterId).length, 0, 'nothing was stored for the meter');
});

t.test("T-B1/T-N4: a reading signed with another meter's session key is refused", async (t) => {
  const victim = await w.meter('ATK-XKEY-01');
  const other = await w.meter('ATK-XKEY-02');
  // the other meter's genuine session key signs a reading claiming to be the victim's
  const d = deliver(other.meter, makeReading(victim.meter.meterId, 1n));
  const answer = (await victim.client.deliver(1n, d.payload)) as { ok: boolean; error?: { code: string } };
  t.equal(answer.ok, false, 'refused');
  t.match(answer.error?.code, /^(NO_SESSION_KEY|BAD_SIGNATURE|KEY_MISMATCH|WRONG_METER)$/, `refused with a key error (${answer.error?.code})`);
  const report = await w.reconcile();
  t.same(located(report, victim.meter.meterId), [], 'nothing stored for the victim');
});

t.test('T-I3: a reading inserted by the insider with a valid signature but never anchored is unanchored', async (t) => {
  const { meter, client } = await w.meter('ATK-INSERT-01');
  const d1 = deliver(meter, makeReading(meter.meterId, 1n));
  w.ledger.anchor(meter, d1);
  t.match(await client.deliver(1n, d1.payload), { ok: true });
  t.match(await client.deliver(2n, deliver(meter, makeReading(meter.meterId, 2n)).payload), { ok: true }, 'accepted at ingest (the key is valid)');
  const report = await w.reconcile();
  t.same(located(report, meter.meterId), [['2', 'unanchored']]);
});

t.test('a meter gone silent is flagged in the report', async (t) => {
  const { meter, client } = await w.meter('ATK-SILENT-01');
  const d = deliver(meter, makeReading(meter.meterId, 1n)); // agent time long before now, interval 1 s
  w.ledger.anchor(meter, d);
  t.match(await client.deliver(1n, d.payload), { ok: true });
  const report = await w.reconcile();
  t.ok(report.silentMeters?.includes(meter.meterId), 'the meter is listed as silent');
  t.match(report.meters?.find((m) => m.meterId === meter.meterId), { silent: true, lastSeq: '1' });
});

t.test('T-I4: every reconciliation opened and closed the air gap, audited', async (t) => {
  t.match(w.airgap.stats(), { open: false });
});
