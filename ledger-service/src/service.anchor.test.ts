// Anchors end to end: a real meter client, the embedded broker, the log, and proofs from the HTTP API
// checked with the protocol's verifiers against the signed checkpoint.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  AnchorAck, LedgerTopics, encodeAnchor, encodeSigned, fromHex, generateKeyPair, keyId, leafHash, openCheckpoint,
  parseVerifierKey, signRecord, verifyInclusion,
} from '@meterseal/protocol';
import { startTestLedger } from './testing/harness.js';

const M1 = { meterId: 'M-1', customerAccount: 'A-1' };
const M2 = { meterId: 'M-2', customerAccount: 'A-2' };

const hash = () => new Uint8Array(randomBytes(32));

t.test('a valid anchor is appended and its inclusion proof verifies against the signed checkpoint', async (t) => {
  const { ledger, meter } = await startTestLedger(t, { meters: [M1] });
  const m = await meter(M1);
  await m.onboard(1n);
  const { response, signed } = await m.anchor(1n, hash());
  t.ok(AnchorAck.safeParse(response).success, 'a protocol AnchorAck');
  t.match(response, { op: 'anchor', ref: '1', ok: true, seq: '1', duplicate: false });
  for (let s = 2n; s <= 6n; s++) t.match((await m.anchor(s)).response, { ok: true });

  const res = await fetch(`${ledger.httpUrl}/v1/anchors?meter=M-1&from=0&to=100`);
  t.equal(res.status, 200);
  const body = (await res.json()) as { checkpoint: string; treeSize: string; anchors: Array<{ seq: string; leafIndex: string; readingHash: string; keyId: string }> };
  const cp = openCheckpoint(body.checkpoint, parseVerifierKey(ledger.verifierKey), ledger.origin);
  t.equal(cp.size.toString(), body.treeSize);
  t.same(body.anchors.map((a) => a.seq), ['1', '2', '3', '4', '5', '6']);
  const first = body.anchors[0]!;
  t.equal(first.leafIndex, response.leafIndex);
  t.equal(first.keyId, Buffer.from(m.session!.keyId).toString('hex'));

  const proof = (await (await fetch(`${ledger.httpUrl}/v1/proof/inclusion?index=${first.leafIndex}&size=${cp.size}`)).json()) as { proof: string[] };
  const hashes = proof.proof.map((h) => fromHex(h, 32));
  t.ok(verifyInclusion(leafHash(signed), BigInt(first.leafIndex), cp.size, hashes, cp.root), 'RFC 9162 inclusion proof verifies');
  t.notOk(verifyInclusion(leafHash(m.signedAnchor(1n, hash())), BigInt(first.leafIndex), cp.size, hashes, cp.root), 'and not for another anchor');

  const checkpointText = await (await fetch(`${ledger.httpUrl}/checkpoint`)).text();
  t.equal(openCheckpoint(checkpointText, parseVerifierKey(ledger.verifierKey)).size, cp.size, 'GET /checkpoint serves the latest');
  t.equal(await ledger.checkpointNow(), checkpointText, 'one checkpoint text per size');
});

t.test('duplicates, conflicts and signatures', async (t) => {
  const { ledger, meter } = await startTestLedger(t, { meters: [M1] });
  const m = await meter(M1);
  await m.onboard(10n);
  const h = hash();
  const a = await m.anchor(10n, h);
  t.match(a.response, { ok: true, duplicate: false });
  const size = ledger.stats().treeSize;
  t.match((await m.anchor(10n, h, a.signed)).response, { ok: true, duplicate: true, leafIndex: a.response.leafIndex });
  t.equal(ledger.stats().treeSize, size, 'a duplicate appends nothing');
  t.match((await m.anchor(10n, hash())).response, { ok: false, ref: '10', error: { code: 'CONFLICT', message: /already anchored at leaf/ } });

  const forged = m.signedAnchor(11n, hash(), { signWith: generateKeyPair().secretKey, keyId: m.session!.keyId });
  t.match((await m.anchor(11n, undefined, forged)).response, { ok: false, ref: '11', error: { code: 'BAD_SIGNATURE' } });
  const forgedConflict = m.signedAnchor(10n, hash(), { signWith: generateKeyPair().secretKey, keyId: m.session!.keyId });
  t.match((await m.anchor(10n, undefined, forgedConflict)).response, { ok: false, error: { code: 'BAD_SIGNATURE' } }, 'an unverifiable anchor is no conflict');
  t.match((await m.anchor(9n)).response, { ok: false, error: { code: 'SEQ_OUTSIDE_BINDING' } }, 'below firstSeq');
  const unknownKey = generateKeyPair();
  const noKey = m.signedAnchor(12n, hash(), { signWith: unknownKey.secretKey, keyId: keyId(unknownKey.publicKey) });
  t.match((await m.anchor(12n, undefined, noKey)).response, { ok: false, error: { code: 'NO_SESSION_KEY' } });
  t.same(ledger.stats().rejected, { CONFLICT: 1, BAD_SIGNATURE: 2, SEQ_OUTSIDE_BINDING: 1, NO_SESSION_KEY: 1 });
  t.equal(ledger.stats().anchored, 1);

  // A new binding ends the old key's range at its firstSeq.
  const oldKey = m.session!;
  await m.authenticate();
  t.match(await m.bind(20n), { ok: true });
  t.match((await m.anchor(15n, hash(), m.signedAnchor(15n, hash(), { signWith: oldKey.keys.secretKey, keyId: oldKey.keyId }))).response, { ok: true }, 'old key below 20');
  t.match((await m.anchor(20n, hash(), m.signedAnchor(20n, hash(), { signWith: oldKey.keys.secretKey, keyId: oldKey.keyId }))).response, {
    ok: false, error: { code: 'SEQ_OUTSIDE_BINDING', message: /outside \[10, 20\)/ },
  });
  t.match((await m.anchor(20n)).response, { ok: true }, 'new key from 20');
  await m.authenticate();
  t.match(await m.bind(18n), { ok: false, error: { code: 'BAD_FIRST_SEQ', message: /greater than 20/ } });
});

t.test('an agent that re-enrols before taking a reading binds a new key from the same firstSeq', async (t) => {
  const { meter } = await startTestLedger(t, { meters: [M1] });
  const m = await meter(M1);
  await m.onboard(1n);
  const oldKey = m.session!;
  await m.authenticate();
  t.match(await m.bind(1n), { ok: true }, 'same firstSeq, new session key');
  const byOld = m.signedAnchor(1n, hash(), { signWith: oldKey.keys.secretKey, keyId: oldKey.keyId });
  t.match((await m.anchor(1n, undefined, byOld)).response, { ok: false, error: { code: 'SEQ_OUTSIDE_BINDING', message: /outside \[1, 1\)/ } }, 'the superseded key covers nothing');
  t.match((await m.anchor(1n)).response, { ok: true });
  await m.authenticate();
  t.match(await m.bind(1n), { ok: false, error: { code: 'BAD_FIRST_SEQ', message: /greater than 1, the highest seq anchored/ } });
});

t.test('hostile payloads are refused as MALFORMED and the service keeps working', async (t) => {
  const { ledger, meter } = await startTestLedger(t, { meters: [M1, M2] });
  const m = await meter(M1);
  await m.onboard(1n);
  const anchorTopic = LedgerTopics.anchor('M-1');

  t.match(await m.request(anchorTopic, new Uint8Array([0x02]), 'anchor', ''), { ok: false, error: { code: 'MALFORMED', message: /signed record too short/ } });
  const truncated = m.signedAnchor(7n, hash()).slice(0, -10); // the record loses its last 10 bytes
  t.match(await m.request(anchorTopic, truncated, 'anchor', '7'), { ok: false, ref: '7', error: { code: 'MALFORMED', message: /truncated/ } }, 'ref from the readable seq');
  const trailing = new Uint8Array([...encodeAnchor({ meterId: 'M-1', seq: 8n, keyId: m.session!.keyId, readingHash: hash() }), 0, ...new Uint8Array(64)]);
  t.match(await m.request(anchorTopic, trailing, 'anchor', '8'), { ok: false, error: { code: 'MALFORMED', message: /trailing/ } });
  t.match(await m.request(anchorTopic, m.signedAnchor(9n, hash(), { meterId: 'M-2' }), 'anchor', '9'), { ok: false, error: { code: 'TOPIC_MISMATCH' } });
  t.match(await m.request(anchorTopic, new Uint8Array(5000), 'anchor', ''), { ok: false, error: { code: 'MALFORMED', message: /exceeds the 4096-byte limit/ } });
  t.match(await m.request(LedgerTopics.register, new Uint8Array([0x03, 0x01, 3, 0x4d, 0x2d, 0x31, 0xff]), 'register', 'register'), {
    ok: false, error: { code: 'MALFORMED', message: /RegistrationRequest/ },
  }, 'a refusal reaches the meter named in a record that does not decode');
  const before = ledger.stats().rejected.MALFORMED ?? 0;
  await m.publishRaw(LedgerTopics.challenge, '{"meterId": 5}');
  await m.publishRaw(LedgerTopics.challenge, '{"meterId": "M-1", "x": [');
  t.match(await m.challenge(), { ok: true }, 'answered after the two above (answers go out in order)');
  t.same(m.unmatched, [], 'a request naming no meter cannot be answered over MQTT 3.1.1');
  t.equal(ledger.stats().rejected.MALFORMED, before + 2, 'but it is counted');
  await m.publishRaw(LedgerTopics.bind, new Uint8Array(randomBytes(300)));
  await m.publishRaw(LedgerTopics.auth, '');
  await m.publishRaw(`${LedgerTopics.anchorPrefix}bad*id`, new Uint8Array(100));
  const wrongType = encodeSigned(encodeAnchor({ meterId: 'M-1', seq: 1n, keyId: new Uint8Array(8), readingHash: hash() }), new Uint8Array(64));
  t.match(await m.request(LedgerTopics.bind, wrongType, 'bind', 'bind'), { ok: false, error: { code: 'MALFORMED', message: /expected a KeyBinding record/ } });

  t.match((await m.anchor(2n)).response, { ok: true }, 'still working');
  t.match(await m.authenticate(), { ok: true });
  t.ok((ledger.stats().rejected.MALFORMED ?? 0) >= 10, `all counted (${ledger.stats().rejected.MALFORMED})`);
});

t.test('an anchor from an unregistered meter', async (t) => {
  const { meter } = await startTestLedger(t, { meters: [M1] });
  const m = await meter({ meterId: 'GHOST-1', customerAccount: 'x' });
  const key = generateKeyPair();
  const rec = encodeAnchor({ meterId: 'GHOST-1', seq: 1n, keyId: keyId(key.publicKey), readingHash: hash() });
  const r = await m.request(LedgerTopics.anchor('GHOST-1'), encodeSigned(rec, signRecord(rec, key.secretKey)), 'anchor', '1');
  t.match(r, { ok: false, error: { code: 'UNKNOWN_METER' } });
});
