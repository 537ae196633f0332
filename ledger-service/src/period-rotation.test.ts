// Log rotation by period through the real ledger (startLedger, hourly periods, a manual UTC clock): the
// boundary closes the old log with a final checkpoint, the new log's entry 0 commits it, the key state is
// carried (a bound meter keeps anchoring without binding again), closed periods are served under
// /period/<id>/…, receipts of closed periods still verify, and the chain of periods verifies.
import t from 'tap';
import {
  decodeIdentityCertificate, decodePreviousLog, fromBase64, fromHex, openInclusionPromise, sameLedgerOrigin, leafHash, openCheckpoint, parseReceipt, parseVerifierKey, verifyInclusion, verifyPeriodChain,
  type PeriodLink,
} from '@meterseal/protocol';
import { ManualClock, startTestLedger, tempDir, writeWhitelist } from './testing/harness.js';

const M1 = { meterId: 'ROT-1', customerAccount: 'A-1' };
const M2 = { meterId: 'ROT-2', customerAccount: 'A-2' };
const BASE = 'rotation.test/ledger';
const T12 = '2026-11-21T12';
const T13 = '2026-11-21T13';

async function get<T>(url: string): Promise<{ status: number; body: T; text: string; headers: Headers }> {
  const r = await fetch(url);
  const text = await r.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    // a text body (checkpoints)
  }
  return { status: r.status, body: body as T, text, headers: r.headers };
}

interface LinkJson { period: string; checkpoint: string; firstEntry?: string; firstEntryProof?: string[] }
const toLink = (l: LinkJson): PeriodLink => ({
  checkpoint: l.checkpoint,
  ...(l.firstEntry ? { firstEntry: fromBase64(l.firstEntry), firstEntryProof: (l.firstEntryProof ?? []).map(fromBase64) } : {}),
});

t.test('hourly rotation: final checkpoint, entry 0, carried keys, closed periods served, chain verifies', async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 58, 0));
  const dataDir = tempDir(t);
  writeWhitelist(dataDir, [M1, M2]);
  const config = { origin: BASE, rotation: { period: 'hour' as const }, checkpointIntervalMs: 3_600_000 };
  const { ledger, meter } = await startTestLedger(t, { dataDir, config, now: clock.now });
  const vkey = parseVerifierKey(ledger.verifierKey);

  const m1 = await meter(M1);
  await m1.onboard(1n);
  t.match((await m1.anchor(1n)).response, { ok: true });
  t.match((await m1.anchor(2n)).response, { ok: true });
  const m2 = await meter(M2);
  t.match(await m2.register(), { ok: true }, 'a second meter registers but never binds');
  const before = openCheckpoint(await ledger.checkpointNow(), vkey);
  t.equal(before.origin, `${BASE}/${T12}`, 'the first period log is named <origin>/<period>');
  const sizeT12 = before.size;

  clock.ms = Date.UTC(2026, 10, 21, 13, 0, 5); // past the boundary, by the ledger's UTC clock
  const a3 = (await m1.anchor(3n)).response;
  t.match(a3, { ok: true }, 'the meter bound in 12:00 anchors in 13:00 without binding again');
  const promise = openInclusionPromise(fromHex(a3.promise as string), ledger.publicKey);
  t.equal(promise.logOrigin, BASE, 'inclusion promises name the ledger (base origin), stable across periods');
  t.equal(promise.leafIndex, 4n, '… with the leaf index in the current period\'s log');

  const list = await get<{ current: string; periods: Array<{ period: string; origin: string; closed: boolean; size: string; finalCheckpoint?: string; closedAt?: string }> }>(`${ledger.httpUrl}/periods`);
  t.equal(list.status, 200);
  t.equal(list.body.current, T13);
  t.same(list.body.periods.map((p) => [p.period, p.closed]), [[T12, true], [T13, false]]);
  const closed = list.body.periods[0]!;
  t.equal(closed.size, sizeT12.toString(), 'nothing was appended to the old log after its final checkpoint');
  t.equal(closed.closedAt, '2026-11-21T13:00:05.000Z', 'closed at the ledger clock of the first append after the boundary');
  const final = openCheckpoint(closed.finalCheckpoint!, vkey, `${BASE}/${T12}`);
  t.equal(final.size, sizeT12);

  // the current log at the usual paths (c2sp.org/tlog-tiles clients keep working)
  const cur = openCheckpoint((await get(`${ledger.httpUrl}/checkpoint`)).text, vkey);
  t.equal(cur.origin, `${BASE}/${T13}`);
  const closedCp = await get(`${ledger.httpUrl}/period/${T12}/checkpoint`);
  t.equal(closedCp.text, closed.finalCheckpoint, 'the closed period serves its final checkpoint');
  t.match(closedCp.headers.get('cache-control'), /immutable/);

  // entry 0 of the new log commits the final checkpoint; carried: M1's registration and binding, M2's registration
  const links = await Promise.all([T12, T13].map(async (p) => (await get<LinkJson>(`${ledger.httpUrl}/period/${p}/link`)).body));
  t.notOk(links[0]!.firstEntry && decodeSafe(links[0]!.firstEntry), 'the first period has no PreviousLog');
  const prev = decodePreviousLog(fromBase64(links[1]!.firstEntry!));
  t.equal(prev.checkpoint, closed.finalCheckpoint, 'entry 0 holds the final checkpoint note text');
  t.equal(prev.carried, 3n, 'two registrations and one binding carried');
  t.equal(a3.leafIndex, '4', 'the first new anchor follows entry 0 and the carried entries');
  const chain = verifyPeriodChain(links.map(toLink), { verifier: vkey, baseOrigin: BASE });
  t.same(chain.map((p) => p.period), [T12, T13], 'the chain of periods verifies');

  // entry bundles of the new log (c2sp.org/tlog-tiles) under the period prefix hold the same entry 0
  const size13 = openCheckpoint(links[1]!.checkpoint, vkey).size;
  const bundle = await fetch(`${ledger.httpUrl}/period/${T13}/tile/entries/000.p/${size13}`);
  t.equal(bundle.status, 200);
  const bytes = new Uint8Array(await bundle.arrayBuffer());
  const len = (bytes[0]! << 8) | bytes[1]!;
  t.same(bytes.subarray(2, 2 + len), fromBase64(links[1]!.firstEntry!), 'entry 0 in the entry bundle');
  t.equal((await fetch(`${ledger.httpUrl}/period/2026-11-21T11/checkpoint`)).status, 404, 'an unknown period is a 404');
  t.equal((await fetch(`${ledger.httpUrl}/period/yesterday/checkpoint`)).status, 400, 'a malformed period id is a 400');

  // the rest of the query API of the closed log under its prefix: per-meter index, anchors, proofs
  const idx = await get<{ checkpoint: string; treeSize: string; leaves: unknown[] }>(`${ledger.httpUrl}/period/${T12}/v1/index?start=0&count=10`);
  t.equal(idx.status, 200);
  t.equal(idx.body.checkpoint, closed.finalCheckpoint, 'the closed index is served with the final checkpoint');
  t.equal(idx.body.leaves.length, 2, 'two meters in the closed period\'s index');
  const anchors = await get<{ anchors: Array<{ seq: string }> }>(`${ledger.httpUrl}/period/${T12}/v1/anchors?meter=${M1.meterId}&from=0&to=10`);
  t.same(anchors.body.anchors.map((a) => a.seq), ['1', '2'], 'the closed period\'s anchors');
  const curAnchors = await get<{ anchors: Array<{ seq: string }> }>(`${ledger.httpUrl}/period/${T13}/v1/anchors?meter=${M1.meterId}&from=0&to=10`);
  t.same(curAnchors.body.anchors.map((a) => a.seq), ['3'], 'the current period under its prefix too');
  t.equal((await fetch(`${ledger.httpUrl}/period/${T12}/v1/proof/inclusion?index=0&size=${sizeT12 + 1n}`)).status, 400, 'a size past the closed log is a 400');

  // a reading anchored in the closed period still has a receipt, proven against that log's final checkpoint
  t.equal((await fetch(`${ledger.httpUrl}/period/${T13}/receipt?meter=${M1.meterId}&seq=2`)).status, 404, 'not in the current period\'s log');
  const rc = await get<unknown>(`${ledger.httpUrl}/period/${T12}/receipt?meter=${M1.meterId}&seq=2`);
  t.equal(rc.status, 200);
  t.same((await get<unknown>(`${ledger.httpUrl}/receipt?meter=${M1.meterId}&seq=2`)).body, rc.body, 'GET /receipt falls back to the closed period');
  const r = parseReceipt(rc.body);
  const rcp = openCheckpoint(r.anchorProof.checkpoint, vkey, `${BASE}/${T12}`);
  t.ok(verifyInclusion(leafHash(r.anchorEntry), r.anchorProof.index, rcp.size, r.anchorProof.proof, rcp.root), 'closed-period anchor proof verifies');
  t.ok(verifyInclusion(leafHash(r.bindingEntry), r.bindingProof.index, rcp.size, r.bindingProof.proof, rcp.root), 'closed-period binding proof verifies');
  const r3 = parseReceipt((await get<unknown>(`${ledger.httpUrl}/receipt?meter=${M1.meterId}&seq=3`)).body);
  const r3cp = openCheckpoint(r3.bindingProof.checkpoint, vkey, `${BASE}/${T13}`);
  t.same(r3.bindingEntry, r.bindingEntry, 'the carried binding is byte for byte the original');
  t.ok(r3.bindingProof.index >= 1n && r3.bindingProof.index <= prev.carried, '… as one of the carried entries 1..carried of the new log');
  t.ok(verifyInclusion(leafHash(r3.bindingEntry), r3.bindingProof.index, r3cp.size, r3.bindingProof.proof, r3cp.root), 'current receipt: carried binding proven in the same log');

  // key state across the boundary: a binding below a seq anchored in the closed period is refused
  t.match(await m1.authenticate(), { ok: true });
  t.match(await m1.bind(2n), { ok: false, error: { code: 'BAD_FIRST_SEQ' } }, 'maxAnchoredSeq looks into the closed period');
  const again = await m2.register();
  t.match(again, { ok: true }, 'the carried registration answers a re-registration');
  t.equal(decodeIdentityCertificate(fromHex(again.certificate as string)).logOrigin, BASE, 'certificates name the base origin');
  t.ok(sameLedgerOrigin(BASE, cur.origin), 'a verifier pinning the base origin accepts the period checkpoints');

  const stats = ledger.stats();
  t.match(stats, { registrations: 2, anchored: 3 }, 'counters add up over periods; carried copies are not new registrations');
});

function decodeSafe(b64: string): boolean {
  try {
    decodePreviousLog(fromBase64(b64));
    return true;
  } catch {
    return false;
  }
}

t.test('a restart keeps the current period; a ledger down across boundaries opens the period of its clock', async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 30, 0));
  const dataDir = tempDir(t);
  writeWhitelist(dataDir, [M1]);
  const config = { origin: BASE, rotation: { period: 'hour' as const }, checkpointIntervalMs: 3_600_000 };
  const first = await startTestLedger(t, { dataDir, config, now: clock.now });
  const m = await first.meter(M1);
  await m.onboard(1n);
  t.match((await m.anchor(1n)).response, { ok: true });
  const note = await first.ledger.checkpointNow();
  await m.close();
  await first.ledger.close();

  const again = await startTestLedger(t, { dataDir, config, now: clock.now });
  t.equal(await again.ledger.checkpointNow(), note, 'same period, same log, same checkpoint after a restart');
  await again.ledger.close();

  clock.ms = Date.UTC(2026, 10, 21, 15, 10, 0); // down for two boundaries
  const later = await startTestLedger(t, { dataDir, config, now: clock.now });
  const vkey = parseVerifierKey(later.ledger.verifierKey);
  const list = (await get<{ current: string; periods: Array<{ period: string }> }>(`${later.ledger.httpUrl}/periods`)).body;
  t.equal(list.current, '2026-11-21T15');
  t.same(list.periods.map((p) => p.period), [T12, '2026-11-21T15'], 'periods without a running ledger have no log');
  const links = await Promise.all(list.periods.map(async (p) => (await get<LinkJson>(`${later.ledger.httpUrl}/period/${p.period}/link`)).body));
  t.same(verifyPeriodChain(links.map(toLink), { verifier: vkey, baseOrigin: BASE }).map((p) => p.period), [T12, '2026-11-21T15']);
  const m2 = await later.meter({ ...M1, identity: m.identity });
  m2.session = m.session;
  t.match((await m2.anchor(2n)).response, { ok: true }, 'the binding was carried over the gap');
});

t.test('rotation refuses a data directory holding a single log', async (t) => {
  const dataDir = tempDir(t);
  const single = await startTestLedger(t, { dataDir, config: { origin: BASE } });
  await single.ledger.close();
  await t.rejects(startTestLedger(t, { dataDir, config: { origin: BASE, rotation: {} } }), { code: 'STORE_MISMATCH', message: /single log/ });
});
