import t from 'tap';
import fc from 'fast-check';
import {
  ProtocolError, RecordType, decodeAnchor, decodeCorrection, decodeCorrectionDelivery, decodeDelivery, encodeCorrection, encodeDelivery,
  fuzzParams, generateKeyPair, isCorrectionDelivery, isGapDelivery, keyId, mutateBytes, sha256, signCorrection, splitSigned, valueOrTyped, verifyRecord,
  type Correction,
} from './index.js';

const correction: Correction = {
  meterId: 'MTR-1',
  seq: 42n,
  originalSeq: 7n,
  originalHash: sha256(new Uint8Array([1, 2, 3])),
  agentTimeMs: 1_790_000_000_000n,
  reason: 'CT ratio was configured 100/5 instead of 200/5 — values doubled',
  registers: [
    { obis: '1.0.1.8.0.255', value: 123_456n, scaler: 0, unit: 'Wh' },
    { obis: '1.0.2.8.0.255', value: -5n, scaler: -1, unit: 'Wh' },
  ],
  salt: new Uint8Array(16).fill(9),
};

t.test('a correction record round-trips, starts with type 0x15 and refers to its original by seq and hash', async (t) => {
  const bytes = encodeCorrection(correction);
  t.equal(bytes[0], 0x15);
  t.equal(RecordType.Correction, 0x15);
  t.same(decodeCorrection(bytes), correction);
  t.same(encodeCorrection(decodeCorrection(bytes)), bytes, 'canonical: decode then encode gives the same bytes');
});

t.test('invalid corrections are refused with BAD_CORRECTION (or the field codec\'s typed error)', async (t) => {
  t.throws(() => encodeCorrection({ ...correction, seq: 7n }), { code: 'BAD_CORRECTION' }, 'its own seq must come after the original');
  t.throws(() => encodeCorrection({ ...correction, seq: 3n }), { code: 'BAD_CORRECTION' });
  t.throws(() => encodeCorrection({ ...correction, originalSeq: 0n }), { code: 'BAD_CORRECTION' });
  t.throws(() => encodeCorrection({ ...correction, reason: '' }), { code: 'BAD_CORRECTION' });
  t.throws(() => encodeCorrection({ ...correction, reason: 'a\nb' }), { code: 'BAD_CORRECTION' });
  t.throws(() => encodeCorrection({ ...correction, reason: 'x'.repeat(256) }), { code: 'BAD_CORRECTION' });
  t.throws(() => encodeCorrection({ ...correction, registers: [] }), { code: 'BAD_CORRECTION' });
  t.throws(() => encodeCorrection({ ...correction, registers: [...correction.registers].reverse() }), { code: 'BAD_CORRECTION' });
  t.throws(() => encodeCorrection({ ...correction, originalHash: new Uint8Array(31) }), { code: 'BAD_CORRECTION' });
  t.throws(() => encodeCorrection({ ...correction, salt: new Uint8Array(3) }), { code: 'BAD_CORRECTION' });
  t.throws(() => encodeCorrection({ ...correction, meterId: 'bad id' }), ProtocolError);
  const bytes = encodeCorrection(correction);
  t.throws(() => decodeCorrection(bytes.slice(0, bytes.length - 1)), { code: 'TRUNCATED' });
  t.throws(() => decodeCorrection(new Uint8Array([...bytes, 0])), { code: 'TRAILING_BYTES' });
  const wrongType = bytes.slice();
  wrongType[0] = 0x01;
  t.throws(() => decodeCorrection(wrongType), { code: 'WRONG_TYPE' });
  const wrongVersion = bytes.slice();
  wrongVersion[1] = 2;
  t.throws(() => decodeCorrection(wrongVersion), { code: 'BAD_VERSION' });
  // the seq fields: meterId "MTR-1" is 1 + 5 bytes after type/version, seq at offset 8, originalSeq at 16
  const sameSeq = bytes.slice();
  sameSeq.set(bytes.slice(8, 16), 16);
  t.throws(() => decodeCorrection(sameSeq), { code: 'BAD_CORRECTION' }, 'decoding applies the same rules');
});

t.test('a signed correction: the Delivery and the signed anchor carry the same signature over the anchor at its own seq', async (t) => {
  const key = generateKeyPair();
  const kid = keyId(key.publicKey);
  const signed = signCorrection(correction, { keyId: kid, secretKey: key.secretKey });
  t.ok(isCorrectionDelivery(signed.delivery));
  t.notOk(isGapDelivery(signed.delivery));
  const d = decodeCorrectionDelivery(signed.delivery);
  t.same(d.correction, correction);
  t.ok(verifyRecord(d.anchor, d.signature, key.publicKey));
  t.notOk(verifyRecord(d.anchor, d.signature, generateKeyPair().publicKey), 'another key does not verify');
  const { record, signature } = splitSigned(signed.anchor);
  t.same(record, d.anchor, 'interface 1 gets exactly the anchor the Delivery implies');
  t.same(signature, d.signature);
  const anchor = decodeAnchor(record);
  t.equal(anchor.seq, 42n, 'anchored at the correction\'s own seq, not the original\'s');
  t.same(anchor.readingHash, sha256(d.record));
  t.throws(() => decodeDelivery(signed.delivery), { code: 'WRONG_TYPE' }, 'a reading decoder refuses a correction');
  const withSigner = encodeDelivery({ keyId: kid, reading: d.record, signature: d.signature, signer: 'GW-7' });
  t.equal(decodeCorrectionDelivery(withSigner).signer, 'GW-7');
  const badTag = withSigner.slice();
  badTag[2 + 8 + 2 + d.record.length + 64] = 0x7f;
  t.throws(() => decodeCorrectionDelivery(badTag), { code: 'BAD_DELIVERY' });
});

/** A value or a typed ProtocolError with a string code (fuzz-runs.ts valueOrTyped). */
const typed = (f: () => unknown): boolean => valueOrTyped(ProtocolError, f);

t.test('hostile bytes: the correction parsers return a value or throw ProtocolError, never anything else', async () => {
  const key = generateKeyPair();
  const valid = signCorrection(correction, { keyId: keyId(key.publicKey), secretKey: key.secretKey });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (body, header) => {
      const bytes = header ? new Uint8Array([0x15, 0x01, ...body]) : body;
      return typed(() => decodeCorrection(bytes)) && typed(() => decodeCorrectionDelivery(bytes));
    }),
    fuzzParams(500),
  );
  fc.assert(
    fc.property(fc.nat(7), fc.nat(2000), fc.nat(255), fc.boolean(), (op, at, value, inDelivery) => {
      const input = inDelivery ? valid.delivery : valid.record;
      const mutated = mutateBytes(input, op, at, value);
      const decode = inDelivery ? decodeCorrectionDelivery : decodeCorrection;
      let out: unknown;
      const ok = typed(() => (out = decode(mutated)));
      if (out && !inDelivery) {
        // a mutated record that still decodes re-encodes canonically to the same bytes
        if (!Buffer.from(encodeCorrection(out as Correction)).equals(Buffer.from(mutated))) throw new Error('not canonical');
      }
      return ok;
    }),
    fuzzParams(500),
  );
});
