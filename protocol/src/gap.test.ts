import t from 'tap';
import fc from 'fast-check';
import {
  GapReason, ProtocolError, decodeDelivery, decodeGap, decodeGapDelivery, encodeAnchor, encodeDelivery, encodeGap,
  generateKeyPair, isGapDelivery, keyId, signGap, verifyRecord, type Gap,
} from './index.js';

const gap: Gap = { meterId: 'MTR-1', firstSeq: 11n, lastSeq: 15n, fromMs: 1_700_000_000_000n, toMs: 1_700_000_300_000n, reason: GapReason.DiskFull, signer: 'GW-7' };

t.test('a gap record round-trips and starts with type 0x12', async (t) => {
  const bytes = encodeGap(gap);
  t.equal(bytes[0], 0x12);
  t.same(decodeGap(bytes), gap);
});

t.test('invalid gaps are refused with typed errors', async (t) => {
  t.throws(() => encodeGap({ ...gap, lastSeq: 10n }), { code: 'BAD_GAP' });
  t.throws(() => encodeGap({ ...gap, firstSeq: 0n, lastSeq: 0n }), { code: 'BAD_GAP' });
  t.throws(() => encodeGap({ ...gap, reason: 9 as never }), { code: 'BAD_GAP' });
  t.throws(() => encodeGap({ ...gap, toMs: 0n }), { code: 'BAD_GAP' });
  const bytes = encodeGap(gap);
  t.throws(() => decodeGap(bytes.slice(0, bytes.length - 1)), { code: 'TRUNCATED' });
  t.throws(() => decodeGap(new Uint8Array([...bytes, 0])), { code: 'TRAILING_BYTES' });
  const bad = bytes.slice();
  bad[0] = 0x01;
  t.throws(() => decodeGap(bad), { code: 'WRONG_TYPE' });
});

t.test('a signed gap delivery verifies over its anchor at firstSeq and is told apart from a reading', async (t) => {
  const key = generateKeyPair();
  const kid = keyId(key.publicKey);
  const payload = signGap(gap, { keyId: kid, secretKey: key.secretKey });
  t.ok(isGapDelivery(payload));
  const d = decodeGapDelivery(payload);
  t.same(d.gap, gap);
  t.ok(verifyRecord(d.anchor, d.signature, key.publicKey));
  t.equal(d.anchor.length, encodeAnchor({ meterId: 'MTR-1', seq: 11n, keyId: kid, readingHash: new Uint8Array(32) }).length);
  const other = generateKeyPair();
  t.notOk(verifyRecord(d.anchor, d.signature, other.publicKey));
  t.throws(() => decodeDelivery(payload), { code: 'WRONG_TYPE' }, 'an old reading decoder refuses a gap');
});

t.test('the Delivery signer trailer is optional and round-trips (§12.2)', async (t) => {
  const key = generateKeyPair();
  const kid = keyId(key.publicKey);
  const inner = decodeGapDelivery(signGap(gap, { keyId: kid, secretKey: key.secretKey }));
  const withSigner = encodeDelivery({ keyId: kid, reading: inner.record, signature: inner.signature, signer: 'GW-7' });
  t.ok(isGapDelivery(withSigner));
  t.same(decodeGapDelivery(withSigner).gap, gap);
  const badTag = withSigner.slice();
  badTag[2 + 8 + 2 + inner.record.length + 64] = 0x7f;
  t.throws(() => decodeGapDelivery(badTag), { code: 'BAD_DELIVERY' });
});

t.test('hostile bytes never make the gap parsers do anything but return or throw ProtocolError', async () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      for (const f of [decodeGap, decodeGapDelivery]) {
        try {
          f(bytes);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
        }
      }
    }),
    { numRuns: 2000 },
  );
});

t.test('mutated gap deliveries decode to a valid gap or throw ProtocolError, never anything else', async (t) => {
  const key = generateKeyPair();
  const valid = signGap(gap, { keyId: keyId(key.publicKey), secretKey: key.secretKey });
  let decoded = 0;
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat({ max: valid.length }), (edits, cut) => {
      const b = valid.slice(0, Math.max(cut, valid.length - 8));
      for (const [i, v] of edits) if (i < b.length) b[i] = v;
      try {
        const d = decodeGapDelivery(b);
        decoded++;
        if (d.gap.lastSeq < d.gap.firstSeq) throw new Error('decoded an invalid gap');
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
      }
    }),
    { numRuns: 3000 },
  );
  t.ok(decoded > 0, `some mutations still decode (${decoded}); the rest were refused with typed errors`);
});
