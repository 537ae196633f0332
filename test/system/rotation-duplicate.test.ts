// Issue 3 item 7 across periods (rotation by period, hourly, a manual UTC clock; the real ledger and a real meter
// client): an anchor resent after the boundary keeps the leaf it got in the closed period (duplicate, naming
// that period and its log origin; the log does not grow), a different anchor for that (meter, seq) is a
// CONFLICT (logged), and GET /receipt and the `receipt` request answer from the closed period with a receipt
// that verifies offline. The agent's own promise tracker (device/src/promises.ts) accepts the duplicate's
// promise and keeps it with that receipt.
// (The closed-seq cache that keeps lookups off the hot path: ledger-service/src/period-closed-anchors.test.ts.)
import t from 'tap';
import pino from 'pino';
import {
  LedgerTopics, encodeAnchor, generateKeyPair, encodeDelivery, encodeReading, encodeSigned, fromHex, keyId, openCheckpoint, openInclusionPromise, parseReceipt,
  parseTrustFile, parseVerifierKey, readingHash, signRecord, verifyReading, type Reading,
} from '@meterseal/protocol';
// the agent's promise tracker, exactly as the agent runs it
import { PromiseTracker } from '@meterseal/device';
import type { FakeMeter } from '@meterseal/ledger-service/testing/fake-meter';
import { ManualClock, startTestLedger, tempDir, writeWhitelist } from '@meterseal/ledger-service/testing/harness';

const M1 = { meterId: 'DUP-1', customerAccount: 'A-1' };
const BASE = 'duplicate.test/ledger';
const T12 = '2026-11-21T12';

function signedReading(m: FakeMeter, seq: bigint, value: bigint): { anchor: Uint8Array; delivery: Uint8Array } {
  const s = m.session!;
  const reading = encodeReading({
    meterId: m.meterId, seq, meterTimeMs: null, meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null,
    agentTimeMs: 1_790_000_000_000n, clockSync: 1, status: 0,
    registers: [{ obis: '1.0.1.8.0.255', value, scaler: 0, unit: 'Wh', raw: new Uint8Array([1, 2]) }],
    salt: new Uint8Array(16).fill(Number(seq)),
  } as unknown as Reading);
  const record = encodeAnchor({ meterId: m.meterId, seq, keyId: s.keyId, readingHash: readingHash(reading) });
  const signature = signRecord(record, s.keys.secretKey);
  return { anchor: encodeSigned(record, signature), delivery: encodeDelivery({ keyId: keyId(s.keys.publicKey), reading, signature }) };
}

t.test('a reading anchored in a closed period, resent after the boundary: same leaf, conflict, receipt, promise kept', async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 50, 0));
  const dataDir = tempDir(t);
  writeWhitelist(dataDir, [M1]);
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
  const config = { origin: BASE, rotation: { period: 'hour' as const }, checkpointIntervalMs: 3_600_000, maxMergeDelayMs: 60_000 };
  const { ledger, meter } = await startTestLedger(t, { dataDir, config, now: clock.now, log });
  const vkey = parseVerifierKey(ledger.verifierKey);
  const m = await meter(M1);
  await m.onboard(1n);
  const r1 = signedReading(m, 1n, 100n);
  const r2 = signedReading(m, 2n, 200n);
  const first1 = (await m.anchor(1n, undefined, r1.anchor)).response;
  const first2 = (await m.anchor(2n, undefined, r2.anchor)).response;
  t.match(first2, { ok: true, duplicate: false });

  clock.ms = Date.UTC(2026, 10, 21, 13, 0, 10); // the next period
  t.match((await m.anchor(3n)).response, { ok: true, duplicate: false }, 'a new reading anchors in the new period');
  const size = openCheckpoint(await ledger.checkpointNow(), vkey).size;

  // 1. the same bytes again: the closed period's leaf, named with its period and log origin; nothing appended
  const again = (await m.anchor(2n, undefined, r2.anchor)).response;
  t.match(again, { ok: true, duplicate: true, leafIndex: first2.leafIndex, period: T12, logOrigin: `${BASE}/${T12}` });
  t.equal(openCheckpoint(await ledger.checkpointNow(), vkey).size, size, 'the log size is unchanged');
  const p = openInclusionPromise(fromHex(again.promise as string), ledger.publicKey, r2.anchor);
  t.equal(p.leafIndex?.toString(), first2.leafIndex, 'the promise names the closed period\'s leaf');
  t.equal(p.logOrigin, `${BASE}/${T12}`, '… in the closed period\'s log');
  const again1 = (await m.anchor(1n, undefined, r1.anchor)).response;
  t.match(again1, { ok: true, duplicate: true, leafIndex: first1.leafIndex, period: T12 }, 'a second resent reading too');

  // 2. a different, validly signed anchor for that (meter, seq): CONFLICT, logged, no promise, nothing appended
  const other = signedReading(m, 2n, 999n);
  const conflict = (await m.anchor(2n, undefined, other.anchor)).response;
  t.match(conflict, { ok: false, error: { code: 'CONFLICT', message: new RegExp(`leaf ${first2.leafIndex} of the closed period ${T12}`) } });
  t.notOk('promise' in conflict, 'no promise for a conflict');
  t.ok(lines.some((l) => l.includes('"code":"CONFLICT"') && l.includes('request refused')), 'the conflict is logged like any other');
  t.equal(openCheckpoint(await ledger.checkpointNow(), vkey).size, size, 'the log size is still unchanged');

  // 3. GET /receipt and the receipt request answer from the closed period; the receipt verifies offline
  const trust = parseTrustFile(await (await fetch(`${ledger.httpUrl}/v1/trust`)).json());
  const got = await fetch(`${ledger.httpUrl}/receipt?meter=${M1.meterId}&seq=2`);
  t.equal(got.status, 200);
  const body = await got.json();
  const v = verifyReading({ delivery: r2.delivery, receipt: body, trust });
  t.equal(v.leafIndex.toString(), first2.leafIndex, 'the receipt proves the closed period\'s leaf');
  t.equal(v.checkpoint.origin, `${BASE}/${T12}`, '… against that period\'s checkpoint');
  t.equal(v.keyStatus, 'proven');
  const final = await (await fetch(`${ledger.httpUrl}/period/${T12}/checkpoint`)).text();
  t.equal(parseReceipt(body).anchorProof.checkpoint, final, 'the closed period\'s final checkpoint');
  const viaMqtt = await m.request(LedgerTopics.receipt, JSON.stringify({ meterId: M1.meterId, seq: '2' }), 'receipt', 'receipt:2');
  t.match(viaMqtt, { ok: true });
  t.same(viaMqtt.receipt, body, 'the receipt request answers the same');
  t.throws(() => verifyReading({ delivery: other.delivery, receipt: body, trust }), { code: 'CHECK_ANCHOR' }, 'the conflicting reading has no receipt');

  // 4. the agent's tracker: accepts the duplicate's promise, and the receipt keeps it after the deadline
  let agentNow = Date.now();
  const tracker = new PromiseTracker(`${tempDir(t)}/agent.sqlite`, `${dataDir}/evidence`, M1.meterId, pino({ level: 'silent' }), { now: () => agentNow });
  t.teardown(() => tracker.close());
  tracker.setLedger(ledger.publicKey, BASE); // what enrolment learns: the ledger key and the base origin
  tracker.accept(2n, r2.anchor, again.promise, again.leafIndex as string);
  t.same(tracker.stats(), { held: 1, fulfilled: 0, brokenPromises: 0, badPromises: 0 }, 'the agent accepts the promise: the anchor is acknowledged');
  agentNow += 61_000;
  await tracker.checkDue({ connected: true, request: (op, ref, topic, payload) => m.request(topic, payload, op, ref) as never });
  t.same(tracker.stats(), { held: 0, fulfilled: 1, brokenPromises: 0, badPromises: 0 }, 'the receipt from the closed period fulfils it');
});

t.test('a closed seq signed with a key the new log did not carry: judged by the closed period\'s binding, a CONFLICT', async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 50, 0));
  const dataDir = tempDir(t);
  writeWhitelist(dataDir, [M1]);
  const config = { origin: BASE, rotation: { period: 'hour' as const }, checkpointIntervalMs: 3_600_000 };
  const { meter } = await startTestLedger(t, { dataDir, config, now: clock.now });
  const m = await meter(M1);
  await m.onboard(1n);
  const r1 = signedReading(m, 1n, 100n);
  const first = (await m.anchor(1n, undefined, r1.anchor)).response;
  const k1 = m.session!;
  t.match(await m.authenticate(), { ok: true });
  t.match(await m.bind(5n), { ok: true }, 'a second key in the same period: only it is carried');
  clock.ms = Date.UTC(2026, 10, 21, 13, 0, 10);
  t.match((await m.anchor(5n)).response, { ok: true }, 'the new period (rotated)');
  m.session = k1;
  const other = signedReading(m, 1n, 555n);
  t.match((await m.anchor(1n, undefined, other.anchor)).response, { ok: false, error: { code: 'CONFLICT', message: new RegExp(`leaf ${first.leafIndex} of the closed period ${T12}`) } });
  t.match((await m.anchor(1n, undefined, r1.anchor)).response, { ok: true, duplicate: true, leafIndex: first.leafIndex, period: T12 }, 'the original is a duplicate');
});
