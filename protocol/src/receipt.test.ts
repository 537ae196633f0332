// Receipts and inclusion promises: the tlog-proof text format, the promise record, and offline verification
// of a reading — a valid receipt passes, and each tampered field fails with the check that names it.
import t, { type Test } from 'tap';
import {
  ProtocolError, ReceiptCheckError, decodeInclusionPromise, encodeInclusionPromise, fromBase64, generateKeyPair, leafHash,
  openInclusionPromise, parseReceipt, parseTlogProof, parseTrustFile, formatTlogProof, signInclusionPromise, toBase64,
  verifyReading, type InclusionPromise, type Receipt,
} from './index.js';
import { buildReceiptFixture, type ReceiptFixture } from './receipt-fixture.js';

const check = (f: ReceiptFixture, receipt: Receipt = f.receipt, trust: unknown = f.trust, delivery = f.delivery) =>
  verifyReading({ delivery, receipt, trust: parseTrustFile(trust) });

/** Asserts verification fails in `name` with a message matching `msg`. */
function fails(t: Test, fn: () => unknown, name: string, msg: RegExp): void {
  try {
    fn();
    t.fail(`expected the ${name} check to fail`);
  } catch (err) {
    t.ok(err instanceof ReceiptCheckError, `a ReceiptCheckError (${(err as Error).message})`);
    t.equal((err as ReceiptCheckError).check, name);
    t.match((err as Error).message, msg);
  }
}

t.test('tlog-proof text round-trips and hostile text is refused by line', async (t) => {
  const p = { index: 73894n, proof: [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)], checkpoint: 'o\n1\nAA==\n\n— o x\n', extra: new Uint8Array([1, 2]) };
  const text = formatTlogProof(p);
  t.match(text, /^c2sp\.org\/tlog-proof@v1\nextra AQI=\nindex 73894\n/);
  t.same(parseTlogProof(text), p);
  t.same(parseTlogProof(formatTlogProof({ index: 0n, proof: [], checkpoint: 'cp\n' })).proof, []);
  for (const [bad, why] of [
    ['c2sp.org/tlog-proof@v2\nindex 1\n\ncp\n', /first line/],
    ['c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n', /index/],
    ['c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\ncp\n', /index/],
    ['c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\ncp\n', /proof hash 0 is not 32 bytes/],
    ['c2sp.org/tlog-proof@v1\nindex 1\n!!\n\ncp\n', /proof hash 0/],
    ['c2sp.org/tlog-proof@v1\nindex 1\n', /empty line/],
    ['c2sp.org/tlog-proof@v1\nindex 1\n\n', /no checkpoint/],
    [`c2sp.org/tlog-proof@v1\nindex 1\n${Array(65).fill(toBase64(new Uint8Array(32))).join('\n')}\n\ncp\n`, /more than 64/],
  ] as const) t.throws(() => parseTlogProof(bad), { code: 'BAD_TLOG_PROOF', message: why });
});

t.test('inclusion promise: encode/decode, the ledger signature and the anchor it names', async (t) => {
  const ledger = generateKeyPair();
  const anchor = new Uint8Array(120).fill(7);
  const p: InclusionPromise = {
    logOrigin: 'meterseal.test/ledger', meterId: 'M-1', seq: 9n, anchorHash: leafHash(anchor), readingHash: new Uint8Array(32).fill(3),
    leafIndex: 42n, issuedAtMs: 1000n, deadlineMs: 61_000n,
  };
  t.same(decodeInclusionPromise(encodeInclusionPromise(p)), p);
  t.same(decodeInclusionPromise(encodeInclusionPromise({ ...p, leafIndex: null })).leafIndex, null);
  const signed = signInclusionPromise(p, ledger.secretKey);
  t.same(openInclusionPromise(signed, ledger.publicKey, anchor), p);
  t.throws(() => openInclusionPromise(signed, generateKeyPair().publicKey), { code: 'BAD_SIGNATURE' });
  t.throws(() => openInclusionPromise(signed, ledger.publicKey, new Uint8Array(120)), { code: 'PROMISE_MISMATCH' });
  t.throws(() => openInclusionPromise(new Uint8Array([...encodeInclusionPromise(p).slice(0, -1), 0, ...signed.slice(-64)]), ledger.publicKey));
  t.throws(() => decodeInclusionPromise(encodeInclusionPromise(p).slice(0, -1)), { code: 'TRUNCATED' });
  t.throws(() => encodeInclusionPromise({ ...p, deadlineMs: 1n }), { code: 'BAD_PROMISE' });
  const presence = encodeInclusionPromise(p);
  presence[2 + 1 + p.logOrigin.length + 1 + p.meterId.length + 8 + 64] = 2;
  t.throws(() => decodeInclusionPromise(presence), { code: 'BAD_PROMISE', message: /presence/ });
});

t.test('a valid receipt verifies offline', async (t) => {
  const f = buildReceiptFixture({ seq: 5n, firstSeq: 1n });
  const v = check(f);
  t.equal(v.meterId, 'MTR-1');
  t.equal(v.seq, 5n);
  t.equal(v.leafIndex, 3n);
  t.equal(v.witnesses, 2);
  t.equal(v.checkpoint.size, 5n);
  t.same(parseReceipt(JSON.stringify(f.receipt)).anchorEntry, f.signedAnchor, 'the receipt parses from JSON text too');
  t.equal(check(f, f.receipt, { ...f.trust, quorum: 1 }).witnesses, 2);
  t.equal(check(f, f.receipt, { ...f.trust, witnesses: [], quorum: 0 }).witnesses, 0);
});

t.test('every tampered field fails with its reason', async (t) => {
  const f = buildReceiptFixture({ seq: 5n, firstSeq: 1n });
  const flipProofHash = (text: string): string => {
    const lines = text.split('\n');
    const h = fromBase64(lines[2]!);
    h[0]! ^= 1;
    lines[2] = toBase64(h);
    return lines.join('\n');
  };
  fails(t, () => check(f, { ...f.receipt, anchorProof: flipProofHash(f.receipt.anchorProof) }), 'anchor-inclusion', /does not lead to the checkpoint root/);
  fails(t, () => check(f, { ...f.receipt, bindingProof: flipProofHash(f.receipt.bindingProof) }), 'binding-inclusion', /does not lead/);
  fails(t, () => check(f, { ...f.receipt, anchorProof: f.receipt.anchorProof.replace('index 3', 'index 2') }), 'anchor-inclusion', /index 2/);

  // the checkpoint: a changed root line breaks the ledger's signature (both proofs carry the same checkpoint)
  const forge = (text: string): string => text.replace(/\n(\d+)\n([A-Za-z0-9+/=]{44})\n\n/, (_m, size: string) => `\n${size}\n${toBase64(new Uint8Array(32))}\n\n`);
  fails(t, () => check(f, { ...f.receipt, anchorProof: forge(f.receipt.anchorProof), bindingProof: forge(f.receipt.bindingProof) }), 'checkpoint', /not signed by/);
  fails(t, () => check(f, { ...f.receipt, anchorProof: forge(f.receipt.anchorProof) }), 'checkpoint', /different checkpoints/);
  const other = buildReceiptFixture();
  fails(t, () => check(f, f.receipt, { ...f.trust, ledgerVerifierKey: other.trust.ledgerVerifierKey }), 'checkpoint', /not signed by/);

  // the witness quorum
  const one = buildReceiptFixture({ cosigners: 1, quorum: 2 });
  fails(t, () => check(one), 'quorum', /1 of the trusted witnesses .* quorum is 2/);
  fails(t, () => check(f, f.receipt, { ...f.trust, witnesses: other.trust.witnesses }), 'quorum', /0 of the trusted witnesses/);

  // keys: the reading signed by a key that is not the bound session key
  const wrongKey = buildReceiptFixture({ readingKey: generateKeyPair() });
  fails(t, () => check(wrongKey), 'reading', /does not verify with session key/);
  fails(t, () => check(f, { ...f.receipt, certificateSignature: other.receipt.certificateSignature }), 'certificate', /not signed by the ledger key/);
  fails(t, () => check(f, { ...f.receipt, bindingEntry: other.receipt.bindingEntry }), 'binding', /certified identity key/);

  // the seq outside the binding
  const early = buildReceiptFixture({ seq: 5n, firstSeq: 6n });
  fails(t, () => check(early), 'binding', /seq 5 is outside the binding, which covers seqs from 6/);

  // the anchor entry is another reading's
  fails(t, () => check(f, { ...f.receipt, anchorEntry: other.receipt.anchorEntry }), 'anchor', /not this reading's signed anchor/);
  fails(t, () => check(f, { ...f.receipt, seq: '6' }), 'input', /seq 6/);
  fails(t, () => check(f, { ...f.receipt, anchorProof: 'junk' }), 'input', /BAD|tlog|empty line/);

  // the revocation hook
  fails(t, () => verifyReading({ delivery: f.delivery, receipt: f.receipt, trust: parseTrustFile(f.trust), checkRevocation: () => 'revoked at seq 3' }), 'revocation', /revoked at seq 3/);
});

t.test('a receipt from a period log of the trusted ledger verifies; another origin is refused', async (t) => {
  // docs/ledger.md, log rotation by period: the period log's checkpoint names "<origin>/<period>", signed with the
  // ledger's note key (named by the base origin)
  const period = buildReceiptFixture({ checkpointOrigin: 'meterseal.test/ledger/2026-11' });
  t.equal(check(period).checkpoint.origin, 'meterseal.test/ledger/2026-11', 'a period checkpoint of the trusted ledger passes');
  const stranger = buildReceiptFixture({ checkpointOrigin: 'meterseal.test/ledger/not-a-period' });
  fails(t, () => check(stranger), 'checkpoint', /neither "meterseal\.test\/ledger" nor one of its period logs/);
});

t.test('the trust file is strict', async (t) => {
  const f = buildReceiptFixture();
  t.throws(() => parseTrustFile({ ...f.trust, extra: 1 }), { code: 'BAD_TRUST', message: /Unrecognized key|extra/ });
  t.throws(() => parseTrustFile({ ...f.trust, quorum: 3 }), { code: 'BAD_TRUST', message: /quorum/ });
  t.throws(() => parseTrustFile({ ...f.trust, witnesses: [f.trust.witnesses[0], f.trust.witnesses[0]] }), { code: 'BAD_TRUST', message: /distinct/ });
  t.throws(() => parseTrustFile({ ...f.trust, origin: 'other' }), { code: 'BAD_TRUST', message: /not the origin/ });
  t.throws(() => parseTrustFile({ ...f.trust, witnesses: ['nope'], quorum: 0 }), { code: 'BAD_TRUST', message: /witnesses\.0/ });
  t.throws(() => parseTrustFile('{'), { code: 'BAD_TRUST' });
  t.ok(parseTrustFile(JSON.stringify(f.trust)).ledger.publicKey instanceof Uint8Array);
  t.ok(new ProtocolError('X', 'y') instanceof Error);
});
