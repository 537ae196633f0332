// Inclusion promises and receipts end to end: a real witness, a ledger with witnessQuorum 1, a real meter
// client. Each anchor answer carries a promise signed by the ledger key; a duplicate gets the same leaf and an
// equivalent promise; a conflicting anchor is refused and logged. GET /receipt (and the `receipt` MQTT request)
// return a receipt that verifies offline against GET /v1/trust, and the cosignature survives a restart.
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import {
  LedgerTopics, VERIFY_CHECKS, checkReading, countWitnesses, encodeAnchor, encodeDelivery, encodeReading, encodeSigned, fromHex, keyId, openInclusionPromise,
  parseCosignatureVerifierKey, parseNote, parseTrustFile, readingHash, signRecord, verifyReading, type Reading,
} from '@meterseal/protocol';
import { startWitness } from '@meterseal/witness';
import { loadOrCreateKeys } from './keys.js';
import type { FakeMeter } from './testing/fake-meter.js';
import { startTestLedger, tempDir } from './testing/harness.js';

const M1 = { meterId: 'M-1', customerAccount: 'A-1' };
const ORIGIN = 'meterseal.test/ledger';

function reading(meterId: string, seq: bigint, value: bigint): Uint8Array {
  return encodeReading({
    meterId, seq, meterTimeMs: null, meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null,
    agentTimeMs: 1_790_000_000_000n, clockSync: 1, status: 0,
    registers: [{ obis: '1.0.1.8.0.255', value, scaler: 0, unit: 'Wh', raw: new Uint8Array([1, 2]) }],
    salt: new Uint8Array(16).fill(Number(seq % 200n)),
  } as unknown as Reading);
}

/** A reading signed the way the agent signs it: its anchor (the ledger's entry) and its Delivery. */
function signedReading(m: FakeMeter, seq: bigint, value = 1000n): { anchor: Uint8Array; delivery: Uint8Array } {
  const s = m.session!;
  const encoded = reading(m.meterId, seq, value);
  const record = encodeAnchor({ meterId: m.meterId, seq, keyId: s.keyId, readingHash: readingHash(encoded) });
  const signature = signRecord(record, s.keys.secretKey);
  return { anchor: encodeSigned(record, signature), delivery: encodeDelivery({ keyId: keyId(s.keys.publicKey), reading: encoded, signature }) };
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** Polls GET /receipt until the quorum checkpoint covers the anchor. */
async function receipt(url: string, meter: string, seq: bigint): Promise<Record<string, unknown>> {
  for (;;) {
    const r = await getJson(`${url}/receipt?meter=${meter}&seq=${seq}`);
    if (r.status === 200) return r.body;
    if ((r.body.error as { code: string }).code !== 'NOT_YET_COSIGNED') throw new Error(JSON.stringify(r.body));
    await sleep(20);
  }
}

t.test('promises, duplicates, conflicts, receipts with a witness quorum, and cosignatures across a restart', async (t) => {
  const dataDir = tempDir(t);
  const ledgerVkey = loadOrCreateKeys(dataDir, ORIGIN).verifierKey;
  const witness = await startWitness(
    { dataDir: tempDir(t, 'meterseal-witness-'), name: 'witness.test/w1', http: { port: 0 }, logs: [{ origin: ORIGIN, verifierKey: ledgerVkey }] },
    { log: pino({ level: 'silent' }) },
  );
  t.teardown(() => witness.close());
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  const config = { origin: ORIGIN, checkpointIntervalMs: 20, maxMergeDelayMs: 60_000, witnessQuorum: 1, witnesses: [{ url: witness.url, verifierKey: witness.verifierKey }] };
  const first = await startTestLedger(t, { dataDir, meters: [M1], log, config });
  const { ledger } = first;
  const m = await first.meter(M1);
  await m.onboard(1n);

  // 1. the promise: signed by the ledger key, for exactly these anchor bytes and the acknowledged leaf
  const r5 = signedReading(m, 5n);
  const before = Date.now();
  const ack = (await m.anchor(5n, undefined, r5.anchor)).response;
  t.match(ack, { ok: true, duplicate: false, promise: /^[0-9a-f]+$/ });
  const p = openInclusionPromise(fromHex(ack.promise as string), ledger.publicKey, r5.anchor);
  t.equal(p.leafIndex?.toString(), ack.leafIndex, 'the promise names the leaf of the answer');
  t.equal(p.logOrigin, ORIGIN);
  t.equal(p.deadlineMs - p.issuedAtMs, 60_000n, 'deadline = issue time + maxMergeDelayMs');
  t.ok(p.issuedAtMs >= BigInt(before) - 1000n);

  // 2. the same bytes again: same leaf, an equivalent promise
  const again = (await m.anchor(5n, undefined, r5.anchor)).response;
  t.match(again, { ok: true, duplicate: true, leafIndex: ack.leafIndex });
  const p2 = openInclusionPromise(fromHex(again.promise as string), ledger.publicKey, r5.anchor);
  t.same([p2.leafIndex, p2.anchorHash, p2.readingHash, p2.seq], [p.leafIndex, p.anchorHash, p.readingHash, p.seq], 'equivalent promise');

  // 3. a different anchor for the used seq: refused with the reason, no promise, and logged
  const other = signedReading(m, 5n, 999n);
  const conflict = (await m.anchor(5n, undefined, other.anchor)).response;
  t.match(conflict, { ok: false, error: { code: 'CONFLICT', message: /already anchored at leaf/ } });
  t.notOk('promise' in conflict);
  t.ok(warnings.some((l) => l.includes('"code":"CONFLICT"') && l.includes('request refused')), 'the conflict is logged');

  // 4. the receipt, from the newest checkpoint with one witness cosignature, verifies offline
  const trust = parseTrustFile((await getJson(`${ledger.httpUrl}/v1/trust`)).body);
  t.equal(trust.quorum, 1);
  const body = await receipt(ledger.httpUrl, 'M-1', 5n);
  const v = verifyReading({ delivery: r5.delivery, receipt: body, trust });
  t.equal(v.leafIndex.toString(), ack.leafIndex);
  t.equal(v.witnesses, 1);
  t.equal(v.keyStatus, 'proven', "the receipt's key-status section verifies against the cosigned checkpoint's index");
  t.same(checkReading({ delivery: r5.delivery, receipt: body, trust }).checks.map((c) => `${c.status} ${c.name}`), VERIFY_CHECKS.map((n) => `pass ${n}`), 'every named check passes');
  t.throws(() => verifyReading({ delivery: other.delivery, receipt: body, trust }), { code: 'CHECK_ANCHOR' }, 'not a receipt for the other reading');

  // 5. the same over MQTT (the agent's `receipt` request)
  const viaMqtt = await m.request(LedgerTopics.receipt, JSON.stringify({ meterId: 'M-1', seq: '5' }), 'receipt', 'receipt:5');
  t.match(viaMqtt, { ok: true });
  t.equal(verifyReading({ delivery: r5.delivery, receipt: viaMqtt.receipt, trust }).seq, 5n);
  t.match(await m.request(LedgerTopics.receipt, JSON.stringify({ meterId: 'M-1', seq: '77' }), 'receipt', 'receipt:77'), { ok: false, error: { code: 'NOT_ANCHORED' } });
  t.match(await m.request(LedgerTopics.receipt, JSON.stringify({ meterId: 'M-1', seq: 5 }), 'receipt', 'receipt'), { ok: false, error: { code: 'MALFORMED', message: /seq/ } });

  // 6. hostile query parameters: a typed 400 naming the parameter
  for (const [q, name] of [['meter=M/1&seq=5', 'meter'], ['meter=M-1&seq=-1', 'seq'], ['meter=M-1&seq=05', 'seq'], ['meter=M-1', 'seq'],
    ['meter=M-1&seq=18446744073709551616', 'seq'], ['meter=M-1&seq=1&x=2', 'x']] as const) {
    const r = await getJson(`${ledger.httpUrl}/receipt?${q}`);
    t.equal(r.status, 400, q);
    t.match(r.body, { error: { code: 'BAD_PARAMETER', message: new RegExp(`'${name}'`) } }, q);
  }
  t.match(await getJson(`${ledger.httpUrl}/receipt?meter=M-1&seq=6`), { status: 404, body: { error: { code: 'NOT_ANCHORED' } } });

  // 7. restart with the witness gone: the stored cosignature is still served and still makes receipts
  const served = await (await fetch(`${ledger.httpUrl}/checkpoint`)).text();
  const wkey = parseCosignatureVerifierKey(witness.verifierKey);
  await ledger.close();
  await witness.close();
  const second = await startTestLedger(t, { dataDir, log: pino({ level: 'silent' }), config });
  const after = await (await fetch(`${second.ledger.httpUrl}/checkpoint`)).text();
  t.equal(countWitnesses(after, [wkey]), 1, 'the cosignature is served after the restart');
  t.equal(parseNote(after).text, parseNote(served).text, 'the same checkpoint as before the restart');
  const again2 = await getJson(`${second.ledger.httpUrl}/receipt?meter=M-1&seq=5`);
  t.equal(again2.status, 200);
  const v2 = verifyReading({ delivery: r5.delivery, receipt: again2.body, trust });
  t.equal(v2.witnesses, 1, 'and receipts still reach the quorum');
  t.equal(v2.keyStatus, 'proven', 'with a key-status section at the stored checkpoint size');
});

t.test('config: the quorum cannot exceed the configured witnesses', async (t) => {
  const { parseLedgerConfig } = await import('./config.js');
  t.equal(parseLedgerConfig({ dataDir: '/d' }).witnessQuorum, 0);
  t.equal(parseLedgerConfig({ dataDir: '/d' }).maxMergeDelayMs, 300_000);
  t.throws(() => parseLedgerConfig({ dataDir: '/d', witnessQuorum: 1 }), { code: 'CONFIG_INVALID', message: /witnessQuorum/ });
});
