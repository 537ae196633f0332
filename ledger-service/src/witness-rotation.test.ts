// Witnesses across log rotation, end to end: a real ledger rotating its log by the hour (a manual UTC clock), a
// real witness service configured with the ledger's base origin (`rotates`), a real meter anchoring. Before and
// after the boundary /checkpoint carries the witness's cosignature and a receipt reaches the quorum; the witness
// moved to the new period through the link (entry 0 committing the closed log's final checkpoint).
import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import {
  countWitnesses, openCheckpoint, parseCosignatureVerifierKey, parseNote, parseReceipt, parseVerifierKey, periodOrigin, sameLedgerOrigin,
} from '@meterseal/protocol';
import { feedWitness, startWitness, type FeederState } from '@meterseal/witness';
import { loadOrCreateKeys } from './keys.js';
import { ManualClock, startTestLedger, tempDir, writeWhitelist } from './testing/harness.js';

const M1 = { meterId: 'WROT-1', customerAccount: 'A-1' };
const BASE = 'witness-rotation.test/ledger';
const T12 = '2026-11-21T12';
const T13 = '2026-11-21T13';
/** Bounds the waits (a failure, not a speed check: a missing cosignature fails the test instead of hanging it). */
const POLLS = 1500;

/** Polls /checkpoint until it is of `origin`, at least `size`, with a witness line. */
/** A ledger data directory (whitelist, keys) at `startMs` and a real witness of it set up for a rotating log. */
async function ledgerDirAndWitness(t: Test, startMs: number, name: string) {
  const clock = new ManualClock(startMs);
  const dataDir = tempDir(t);
  writeWhitelist(dataDir, [M1]);
  const ledgerVkey = loadOrCreateKeys(dataDir, BASE).verifierKey;
  const witness = await startWitness(
    { dataDir: tempDir(t, 'meterseal-witness-'), name, http: { port: 0 }, logs: [{ origin: BASE, verifierKey: ledgerVkey, rotates: true }] },
    { log: pino({ level: 'silent' }) },
  );
  t.teardown(() => witness.close());
  return { clock, dataDir, witness };
}

async function cosigned(url: string, origin: string, size: bigint): Promise<string> {
  let text = '';
  for (let i = 0; i < POLLS; i++) {
    text = await (await fetch(`${url}/checkpoint`)).text();
    const [o, n] = parseNote(text).text.split('\n');
    if (o === origin && BigInt(n!) >= size && parseNote(text).signatures.length >= 2) return text;
    await sleep(20);
  }
  throw new Error(`no cosigned checkpoint of ${origin} at size ${size}; the ledger serves:\n${text}`);
}

/** Polls /receipt until the ledger serves one (it waits for a quorum-cosigned checkpoint covering the anchor). */
async function receipt(url: string, meter: string, seq: bigint): Promise<ReturnType<typeof parseReceipt>> {
  for (let i = 0; i < POLLS; i++) {
    const r = await fetch(`${url}/receipt?meter=${meter}&seq=${seq}`);
    const body = await r.json();
    if (r.status === 200) return parseReceipt(body);
    if ((body as { error?: { code?: string } }).error?.code !== 'NOT_YET_COSIGNED') throw new Error(`receipt: ${JSON.stringify(body)}`);
    await sleep(20);
  }
  throw new Error(`no receipt of ${meter} seq ${seq} reached the quorum`);
}

t.test('after an hourly rotation the ledger\'s checkpoints are cosigned again and receipts keep their quorum', async (t) => {
  const { clock, dataDir, witness } = await ledgerDirAndWitness(t, Date.UTC(2026, 10, 21, 12, 58, 0), 'witness.test/rot');
  const config = {
    origin: BASE, rotation: { period: 'hour' as const }, checkpointIntervalMs: 20,
    witnesses: [{ url: witness.url, verifierKey: witness.verifierKey }], witnessQuorum: 1,
  };
  const { ledger, meter } = await startTestLedger(t, { dataDir, config, now: clock.now });
  const vkey = parseVerifierKey(ledger.verifierKey);
  const w = parseCosignatureVerifierKey(witness.verifierKey);

  const m = await meter(M1);
  await m.onboard(1n);
  for (let s = 1n; s <= 2n; s++) t.match((await m.anchor(s)).response, { ok: true });
  const before = await cosigned(ledger.httpUrl, periodOrigin(BASE, T12), BigInt(ledger.stats().treeSize));
  t.equal(countWitnesses(before, [w]), 1, 'period 12:00 is cosigned');
  const r2 = await receipt(ledger.httpUrl, M1.meterId, 2n);
  t.equal(countWitnesses(r2.anchorProof.checkpoint, [w]), 1, 'a receipt in 12:00 reaches the quorum');

  // a few more anchors that the witness may not have seen cosigned before the boundary
  t.match((await m.anchor(3n)).response, { ok: true });
  clock.ms = Date.UTC(2026, 10, 21, 13, 0, 5);
  t.match((await m.anchor(4n)).response, { ok: true }, 'the first anchor of 13:00 (the ledger rotated)');
  const after = await cosigned(ledger.httpUrl, periodOrigin(BASE, T13), BigInt(ledger.stats().treeSize));
  const cp = openCheckpoint(after, vkey, periodOrigin(BASE, T13));
  t.ok(sameLedgerOrigin(BASE, cp.origin));
  t.equal(countWitnesses(after, [w]), 1, 'the new period\'s checkpoint carries the witness cosignature again');
  const r4 = await receipt(ledger.httpUrl, M1.meterId, 4n);
  const rcp = openCheckpoint(r4.anchorProof.checkpoint, vkey);
  t.equal(rcp.origin, periodOrigin(BASE, T13), 'the receipt is against the new period\'s log');
  t.equal(countWitnesses(r4.anchorProof.checkpoint, [w]), 1, '… and reaches the quorum');

  // seq 3 was anchored in 12:00, perhaps after its last cosigned checkpoint: the final checkpoint was cosigned too
  const r3 = await receipt(ledger.httpUrl, M1.meterId, 3n);
  const r3cp = openCheckpoint(r3.anchorProof.checkpoint, vkey, periodOrigin(BASE, T12));
  t.equal(countWitnesses(r3.anchorProof.checkpoint, [w]), 1, 'a receipt of the closed period\'s last anchor reaches the quorum');
  t.same(witness.position(BASE), { origin: periodOrigin(BASE, T13), period: T13 }, 'the witness moved to 13:00');
  const periods = (await (await fetch(`${ledger.httpUrl}/periods`)).json()) as { periods: Array<{ period: string; size: string; finalCheckpoint?: string }> };
  const closed = periods.periods.find((p) => p.period === T12)!;
  t.equal(witness.latest(periodOrigin(BASE, T12))?.note, closed.finalCheckpoint, 'it holds 12:00\'s final checkpoint');
  t.equal(r3cp.size.toString(), closed.size, '… against which the closed period\'s receipt is proven, cosigned');
  t.match(ledger.stats().witnesses, { refused: 0 }, 'no refusal, no alarm');
  t.same(witness.evidence(periodOrigin(BASE, T13)), []);

  // the new period keeps being cosigned as it grows
  t.match((await m.anchor(5n)).response, { ok: true });
  const grown = await cosigned(ledger.httpUrl, periodOrigin(BASE, T13), cp.size + 1n);
  t.equal(countWitnesses(grown, [w]), 1);
});

t.test('feedWitness over the ledger\'s read API follows a rotation (GET /period/<id>/link and /period/<id>/v1/proof/…)', async (t) => {
  const { clock, dataDir, witness } = await ledgerDirAndWitness(t, Date.UTC(2026, 10, 21, 12, 50, 0), 'witness.test/feed');
  const { ledger, meter } = await startTestLedger(t, { dataDir, config: { origin: BASE, rotation: { period: 'hour' as const }, checkpointIntervalMs: 3_600_000 }, now: clock.now });
  const m = await meter(M1);
  await m.onboard(1n);
  t.match((await m.anchor(1n)).response, { ok: true });
  await ledger.checkpointNow();
  const state: FeederState = {};
  const feed = () => feedWitness({ ledgerUrl: ledger.httpUrl, witnessUrl: witness.url, state, witnessVerifierKey: witness.verifierKey });
  const first = await feed();
  t.ok(parseNote(first.checkpoint).text.startsWith(`${periodOrigin(BASE, T12)}\n`), 'the first checkpoint is of 12:00');
  t.match((await m.anchor(2n)).response, { ok: true }); // 12:00 grows past what the witness cosigned
  clock.ms = Date.UTC(2026, 10, 21, 13, 0, 1);
  t.match((await m.anchor(3n)).response, { ok: true });
  await ledger.checkpointNow();
  const next = await feed();
  t.equal(openCheckpoint(next.checkpoint, parseVerifierKey(ledger.verifierKey)).origin, periodOrigin(BASE, T13));
  t.equal(countWitnesses(next.cosignedNote, [parseCosignatureVerifierKey(witness.verifierKey)]), 1, 'cosigned through the link fetched over HTTP');
  const again = await feedWitness({ ledgerUrl: ledger.httpUrl, witnessUrl: witness.url, state: {} });
  t.equal(again.size, next.size, 'a feeder without state (meterseal witness feed) also gets the cosignature');
});

t.test('a ledger restarted across a boundary asks the witness where it stands, has the final checkpoint cosigned, then links', async (t) => {
  const { clock, dataDir, witness } = await ledgerDirAndWitness(t, Date.UTC(2026, 10, 21, 12, 40, 0), 'witness.test/restart');
  const config = {
    origin: BASE, rotation: { period: 'hour' as const }, checkpointIntervalMs: 20,
    witnesses: [{ url: witness.url, verifierKey: witness.verifierKey }], witnessQuorum: 1,
  };
  const first = await startTestLedger(t, { dataDir, config, now: clock.now });
  const m = await first.meter(M1);
  await m.onboard(1n);
  t.match((await m.anchor(1n)).response, { ok: true });
  await cosigned(first.ledger.httpUrl, periodOrigin(BASE, T12), BigInt(first.ledger.stats().treeSize));
  t.match((await m.anchor(2n)).response, { ok: true });
  await m.close();
  await first.ledger.close(); // its last checkpoint (closing tick) is made after the attacher stopped

  clock.ms = Date.UTC(2026, 10, 21, 13, 20, 0); // down across the boundary: the ledger rotates as it starts
  const again = await startTestLedger(t, { dataDir, config, now: clock.now });
  const w = parseCosignatureVerifierKey(witness.verifierKey);
  const after = await cosigned(again.ledger.httpUrl, periodOrigin(BASE, T13), 1n);
  t.equal(countWitnesses(after, [w]), 1, 'the new period is cosigned after the restart');
  const periods = (await (await fetch(`${again.ledger.httpUrl}/periods`)).json()) as { periods: Array<{ period: string; size: string }> };
  const r2 = await receipt(again.ledger.httpUrl, M1.meterId, 2n);
  const vkey = parseVerifierKey(again.ledger.verifierKey);
  t.equal(openCheckpoint(r2.anchorProof.checkpoint, vkey, periodOrigin(BASE, T12)).size.toString(), periods.periods[0]!.size, 'the receipt of 12:00\'s last anchor is against its final checkpoint…');
  t.equal(countWitnesses(r2.anchorProof.checkpoint, [w]), 1, '… cosigned by the witness after the restart');
  t.same(witness.position(BASE), { origin: periodOrigin(BASE, T13), period: T13 });
  t.match(again.ledger.stats().witnesses, { refused: 0 });
});

t.test('a witness that cosigned the final size while the ledger never stored the answer is asked again after the restart', async (t) => {
  const { clock, dataDir, witness } = await ledgerDirAndWitness(t, Date.UTC(2026, 10, 21, 12, 40, 0), 'witness.test/lost');
  // first run without the witness configured: the witness is fed out of band, so the ledger stores no cosignature
  const first = await startTestLedger(t, { dataDir, config: { origin: BASE, rotation: { period: 'hour' as const }, checkpointIntervalMs: 20 }, now: clock.now });
  const m = await first.meter(M1);
  await m.onboard(1n);
  t.match((await m.anchor(1n)).response, { ok: true });
  t.match((await m.anchor(2n)).response, { ok: true });
  const size = BigInt(first.ledger.stats().treeSize);
  await first.ledger.checkpointNow();
  const fed = await feedWitness({ ledgerUrl: first.ledger.httpUrl, witnessUrl: witness.url, state: {}, witnessVerifierKey: witness.verifierKey });
  t.equal(fed.size, size, 'the witness cosigned the size that will be final');
  await m.close();
  await first.ledger.close();

  clock.ms = Date.UTC(2026, 10, 21, 13, 20, 0); // restarted across the boundary, now with the witness
  const config = {
    origin: BASE, rotation: { period: 'hour' as const }, checkpointIntervalMs: 20,
    witnesses: [{ url: witness.url, verifierKey: witness.verifierKey }], witnessQuorum: 1,
  };
  const again = await startTestLedger(t, { dataDir, config, now: clock.now });
  await cosigned(again.ledger.httpUrl, periodOrigin(BASE, T13), 1n);
  const r2 = await receipt(again.ledger.httpUrl, M1.meterId, 2n);
  const w = parseCosignatureVerifierKey(witness.verifierKey);
  t.equal(openCheckpoint(r2.anchorProof.checkpoint, parseVerifierKey(again.ledger.verifierKey), periodOrigin(BASE, T12)).size, size, 'the receipt is against 12:00\'s final checkpoint…');
  t.equal(countWitnesses(r2.anchorProof.checkpoint, [w]), 1, '… with the cosignature the witness gave again');
  t.match(again.ledger.stats().witnesses, { refused: 0 });
});
