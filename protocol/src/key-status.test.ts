// The key-status section of a receipt and the named checks of checkReading: a valid receipt passes all seven; a
// revocation before the reading fails key-not-revoked (naming the log index and the reason), one after it passes
// with a note; a binding for a later seq or a rotation before the anchor fails key-bound; a forged index proof, a
// dropped key event, or an index root other than the checkpoint's fails index-proof; a receipt without the
// section verifies everything else and reports key status as unproven. Hostile sections give typed errors.
import t from 'tap';
import fc from 'fast-check';
import {
  ProtocolError, decodeKeyEvent, encodeKeyEvent, fromBase64, fuzzParams, parseKeyStatus, parseTrustFile, toBase64, checkReading,
  verifyReading, type CheckResult, type KeyStatusWire, type Receipt, type VerifyCheckName,
} from './index.js';
import { buildKeyStatusFixture, type KeyStatusFixture } from './key-status-fixture.js';

const run = (f: KeyStatusFixture, receipt: Receipt = f.receipt) => checkReading({ delivery: f.delivery, receipt, trust: parseTrustFile(f.trust) });
const byName = (checks: CheckResult[]): Record<VerifyCheckName, CheckResult> => Object.fromEntries(checks.map((c) => [c.name, c])) as Record<VerifyCheckName, CheckResult>;
const ks = (r: Receipt): KeyStatusWire => r.keyStatus as KeyStatusWire;
/** Flips one bit of the i-th base64 hash line of a tlog-proof text. */
function tamperHash(text: string, which = 0): string {
  const lines = text.split('\n');
  const hashes = lines.map((l, i) => (/^[A-Za-z0-9+/]{43}=$/.test(l) ? i : -1)).filter((i) => i >= 0);
  const at = hashes[which]!;
  const h = fromBase64(lines[at]!);
  h[3]! ^= 0x10;
  lines[at] = toBase64(h);
  return lines.join('\n');
}

t.test('a valid receipt with key status passes every named check', async (t) => {
  const f = buildKeyStatusFixture();
  const r = run(f);
  t.same(r.checks.map((c) => `${c.status} ${c.name}`), [
    'pass checkpoint-signature', 'pass witness-quorum', 'pass signature', 'pass inclusion', 'pass index-proof', 'pass key-bound', 'pass key-not-revoked',
  ]);
  t.equal(r.ok, true);
  t.equal(r.reading?.keyStatus, 'proven');
  t.equal(verifyReading({ delivery: f.delivery, receipt: f.receipt, trust: parseTrustFile(f.trust) }).keyStatus, 'proven', 'the older API agrees');
  t.same(parseKeyStatus(ks(f.receipt)).keyEvents, f.events, 'the events round-trip');
});

t.test('revoked before the reading: FAIL key-not-revoked with the log index and the reason', async (t) => {
  const f = buildKeyStatusFixture({ revoke: 'before' });
  t.ok(f.revocationIndex! < f.anchorIndex);
  const r = run(f);
  const c = byName(r.checks);
  t.equal(c['key-not-revoked'].status, 'fail');
  t.equal(c['key-not-revoked'].reason, `revoked at log index ${f.revocationIndex} (reason "meter stolen"), before the reading's anchor at log index ${f.anchorIndex}`);
  t.same(r.checks.filter((x) => x.status !== 'pass').map((x) => x.name), ['key-not-revoked'], 'everything else passes');
  t.equal(r.ok, false);
  t.throws(() => verifyReading({ delivery: f.delivery, receipt: f.receipt, trust: parseTrustFile(f.trust) }), { code: 'CHECK_REVOCATION', message: /revoked at log index/ });
  // without the revocation's log entry the verdict stands; only the reason is unknown
  const bare = { ...f.receipt, keyStatus: { ...ks(f.receipt), revocations: [] } };
  t.match(byName(run(f, bare).checks)['key-not-revoked'], { status: 'fail', reason: /revoked at log index \d+ \(reason not in the receipt\)/ });
});

t.test('revoked after the reading: PASS key-not-revoked, with a note', async (t) => {
  const f = buildKeyStatusFixture({ revoke: 'after' });
  t.ok(f.revocationIndex! > f.anchorIndex);
  const r = run(f);
  t.equal(r.ok, true);
  t.match(byName(r.checks)['key-not-revoked'], { status: 'pass', note: new RegExp(`revoked later, at log index ${f.revocationIndex} \\(reason "meter stolen"\\), after the reading's anchor at log index ${f.anchorIndex}`) });
});

t.test('key-bound: a binding for a later seq, and a rotation logged before the anchor, fail', async (t) => {
  const later = buildKeyStatusFixture({ seq: 5n, firstSeq: 6n });
  t.match(byName(run(later).checks)['key-bound'], { status: 'fail', reason: 'seq 5 is outside the binding, which covers seqs from 6' });
  const rotated = buildKeyStatusFixture({ seq: 5n, firstSeq: 1n, rotateFrom: 4n });
  const r = run(rotated);
  t.match(byName(r.checks)['key-bound'], { status: 'fail', reason: /seq 5 is covered by a later binding \(binding of key [0-9a-f]{16} from seq 4 at log index 3\)/ });
  t.same(r.checks.filter((x) => x.status !== 'pass').map((x) => x.name), ['key-bound']);
  t.equal(run(buildKeyStatusFixture({ seq: 5n, firstSeq: 1n, rotateFrom: 6n })).ok, true, 'a rotation from a higher seq leaves seq 5 covered');
});

t.test('index-proof: a forged proof, a dropped or altered event, a foreign leaf, another index root', async (t) => {
  const f = buildKeyStatusFixture({ revoke: 'before' });
  const expectIndexFail = (receipt: Receipt, reason: RegExp, what: string): void => {
    const c = byName(run(f, receipt).checks);
    t.match(c['index-proof'], { status: 'fail', reason }, what);
    t.match(c['key-not-revoked'], { status: 'fail', reason: /not checked: the index proof failed/ }, `${what}: no verdict on revocation`);
  };
  expectIndexFail({ ...f.receipt, keyStatus: { ...ks(f.receipt), indexProof: tamperHash(ks(f.receipt).indexProof) } }, /not in the index committed by the checkpoint/, 'a forged index path');
  // the revocation dropped from the list: the list no longer hashes to the committed key-events root
  const events = ks(f.receipt).keyEvents;
  expectIndexFail({ ...f.receipt, keyStatus: { ...ks(f.receipt), keyEvents: events.slice(0, -1), revocations: [] } }, /lists 1 key events, the index leaf commits 2/, 'a dropped revocation');
  const dropped = buildKeyStatusFixture({ revoke: 'before' });
  const swapped = [...ks(dropped.receipt).keyEvents].reverse();
  expectIndexFail({ ...f.receipt, keyStatus: { ...ks(f.receipt), keyEvents: swapped, revocations: [] } }, /do not hash to the index leaf's key-events root/, 'other events');
  // the leaf of another meter position: the index proof of MTR-1 cannot carry AAA-0's leaf
  const other = buildKeyStatusFixture();
  expectIndexFail({ ...f.receipt, keyStatus: ks(other.receipt) }, /another checkpoint/, "another receipt's section");
  // an index root in the checkpoint that is not the index's: signed correctly, so only index-proof fails
  const wrong = buildKeyStatusFixture({ wrongIndexRoot: new Uint8Array(32).fill(7) });
  const r = run(wrong);
  t.match(byName(r.checks)['index-proof'], { status: 'fail', reason: /not in the index committed by the checkpoint \(3 meters, root BwcH/ });
  t.same(r.checks.filter((x) => x.status === 'pass').map((x) => x.name), ['checkpoint-signature', 'witness-quorum', 'signature', 'inclusion']);
  t.throws(() => verifyReading({ delivery: wrong.delivery, receipt: wrong.receipt, trust: parseTrustFile(wrong.trust) }), { code: 'CHECK_INDEX_PROOF' });
  // a checkpoint without the index line
  const noIndex = buildKeyStatusFixture();
  const note = noIndex.sign({ ...noIndex.checkpoint, extensions: [] });
  const swap = (text: string): string => text.slice(0, text.indexOf('\n\n') + 2) + note;
  const rk = ks(noIndex.receipt);
  const receipt = { ...noIndex.receipt, anchorProof: swap(noIndex.receipt.anchorProof), bindingProof: swap(noIndex.receipt.bindingProof), keyStatus: { ...rk, indexProof: swap(rk.indexProof) } };
  t.match(byName(run(noIndex, receipt).checks)['index-proof'], { status: 'fail', reason: /commits no meterseal-index\/v1 index/ });
});

t.test('a receipt without the section: everything else verifies, key status is unproven (not passed)', async (t) => {
  const f = buildKeyStatusFixture({ revoke: 'before' });
  const { keyStatus: _, ...old } = f.receipt;
  const r = run(f, old);
  t.same(r.checks.map((c) => `${c.status} ${c.name}`), [
    'pass checkpoint-signature', 'pass witness-quorum', 'pass signature', 'pass inclusion', 'unproven index-proof', 'unproven key-bound', 'unproven key-not-revoked',
  ]);
  t.match(byName(r.checks)['key-not-revoked'].reason, /key status NOT proven: the receipt has no key-status section/);
  t.equal(r.ok, false, 'not ok');
  t.equal(r.noFailure, true, 'but nothing failed');
  t.equal(r.reading?.keyStatus, 'absent');
  t.equal(verifyReading({ delivery: f.delivery, receipt: old, trust: parseTrustFile(f.trust) }).keyStatus, 'absent', 'the older API still returns the reading');
});

t.test('hostile key-status sections and key events give typed errors, never another exception', async (t) => {
  const f = buildKeyStatusFixture({ revoke: 'after' });
  const base = ks(f.receipt);
  for (const [bad, why] of [
    [{ ...base, format: 'v2' }, /format/],
    [{ ...base, keyEvents: ['zz'] }, /keyEvents\.0/],
    [{ ...base, keyEvents: ['00'] }, /keyEvents\.0/],
    [{ ...base, indexProof: 'junk' }, /indexProof/],
    [{ ...base, indexProof: base.indexProof.replace(/^extra .*\n/m, '') }, /no extra line/],
    [{ ...base, revocations: [base.indexProof.replace(/^extra .*\n/m, '')] }, /revocations\.0 has no extra/],
    [{ ...base, extra: 1 }, /Unrecognized|extra/],
    [[], /root/],
  ] as const) {
    t.throws(() => parseKeyStatus(bad), { code: 'BAD_KEY_STATUS', message: why });
    const r = run(f, { ...f.receipt, keyStatus: bad as unknown as KeyStatusWire });
    if (Array.isArray(bad)) t.match(r.input, { code: 'CHECK_INPUT', message: /keyStatus/ }, 'not an object: the receipt itself is refused');
    else t.equal(byName(r.checks)['index-proof'].status, 'fail', `index-proof fails for ${JSON.stringify(bad).slice(0, 40)}`);
  }
  const e = encodeKeyEvent(f.events[0]!);
  t.same(decodeKeyEvent(e), f.events[0]);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(e.length - 1), fc.nat(255), (junk, at, v) => {
      for (const input of [junk, Uint8Array.from(e, (b, i) => (i === at ? v : b)), e.subarray(0, at)]) {
        try {
          const d = decodeKeyEvent(input);
          if (!Buffer.from(encodeKeyEvent(d)).equals(Buffer.from(input))) return false; // canonical: re-encodes to the input
        } catch (err) {
          if (!(err instanceof ProtocolError)) return false;
        }
      }
      return true;
    }),
    fuzzParams(300),
  );
});
