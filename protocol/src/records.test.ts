import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from './bytes.js';
import { ProtocolError } from './errors.js';
import { generateKeyPair, keyId } from './ed25519.js';
import { ClockSync, StatusFlag, decodeReading, encodeReading, readingHash, type Reading } from './reading.js';
import { decodeAnchor, encodeAnchor } from './anchor.js';
import { decodeDelivery, anchorBytesOfReading, decodeKeyAnnouncement, encodeKeyAnnouncement } from './delivery.js';
import { signRecord, verifyRecord, verifyRecordNative, splitSigned, encodeSigned } from './signed.js';
import { decodeKeyBinding, encodeKeyBinding } from './binding.js';
import { decodeAuthResponse, encodeAuthResponse, decodeAuthResult, encodeAuthResult } from './auth.js';
import { decodeRegistrationRequest, encodeRegistrationRequest, decodeIdentityCertificate, encodeIdentityCertificate } from './identity.js';
import { workedExample } from './worked-example.js';
import { readJson } from './test-helpers.js';

function sample(overrides: Partial<Reading> = {}): Reading {
  return {
    meterId: 'M-1',
    seq: 1n,
    meterTimeMs: 1_700_000_000_000n,
    meterIdentity: '000012345678',
    meterClockDeviationMin: -60,
    meterClockStatus: 0x80,
    agentTimeMs: 1_700_000_000_123n,
    clockSync: ClockSync.Synchronised,
    status: 0,
    registers: [{ obis: '1.0.1.8.0.255', value: 5n, scaler: 0, unit: 'Wh', raw: new Uint8Array([0, 0, 0, 5]) }],
    salt: new Uint8Array(16).fill(9),
    ...overrides,
  };
}

t.test('reading: round trip keeps every field, including uint64 extremes and negative values', async (t) => {
  const r = sample({ seq: 2n ** 64n - 1n, meterTimeMs: null, registers: [
    { obis: '1.0.1.8.0.255', value: 2n ** 63n - 1n, scaler: 0, unit: 'Wh', raw: new Uint8Array(8) },
    { obis: '1.0.31.7.0.255', value: -5n, scaler: -3, unit: 'A', raw: new Uint8Array(4) },
  ] });
  t.same(decodeReading(encodeReading(r)), r);
});

t.test('reading: the salt changes the hash, so equal consumption does not give equal hashes', async (t) => {
  const a = readingHash(encodeReading(sample()));
  const b = readingHash(encodeReading(sample({ salt: new Uint8Array(16).fill(10) })));
  t.not(toHex(a), toHex(b));
});

t.test('reading: invalid records are refused with a code naming the problem', async (t) => {
  t.throws(() => encodeReading(sample({ meterId: 'a/b' })), { code: 'BAD_METER_ID' });
  t.throws(() => encodeReading(sample({ meterId: 'x'.repeat(65) })), { code: 'BAD_METER_ID' });
  t.throws(() => encodeReading(sample({ seq: -1n })), { code: 'RANGE' });
  t.throws(() => encodeReading(sample({ registers: [] })), { code: 'BAD_READING' });
  t.throws(() => encodeReading(sample({ salt: new Uint8Array(15) })), { code: 'BAD_LENGTH' });
  const reg = sample().registers[0]!;
  t.throws(() => encodeReading(sample({ registers: [reg, reg] })), { code: 'BAD_READING' }, 'duplicate OBIS');
  const bytes = encodeReading(sample());
  t.throws(() => decodeReading(bytes.slice(0, -1)), { code: 'TRUNCATED' });
  t.throws(() => decodeReading(new Uint8Array([...bytes, 0])), { code: 'TRAILING_BYTES' });
  const wrongType = bytes.slice();
  wrongType[0] = 0x02;
  t.throws(() => decodeReading(wrongType), { code: 'WRONG_TYPE' });
  const wrongVersion = bytes.slice();
  for (const v of [0, 3, 0xff]) {
    wrongVersion[1] = v;
    t.throws(() => decodeReading(wrongVersion), { code: 'BAD_VERSION' }, `version ${v}`);
  }
  t.throws(() => encodeReading(sample({ meterIdentity: '' })), { code: 'BAD_METER_IDENTITY' });
  t.throws(() => encodeReading(sample({ meterIdentity: 'a\nb' })), { code: 'BAD_METER_IDENTITY' }, 'control characters');
  t.throws(() => encodeReading(sample({ meterIdentity: 'é'.repeat(65) })), { code: 'BAD_METER_IDENTITY' }, '130 UTF-8 bytes');
  t.throws(() => encodeReading(sample({ meterClockDeviationMin: 32768 })), { code: 'RANGE' });
  t.throws(() => encodeReading(sample({ meterClockDeviationMin: 1.5 })), { code: 'RANGE' });
  t.throws(() => encodeReading(sample({ meterClockStatus: 256 })), { code: 'RANGE' });
  t.throws(() => encodeReading(sample({ version: 1 })), { code: 'BAD_READING' }, 'v1 cannot carry v2 fields');
  const badPresence = encodeReading(sample({ meterTimeMs: null }));
  badPresence[2 + 1 + 3 + 8 + 1] = 2; // the meterIdentity presence byte after "M-1", seq and the absent meter time
  t.throws(() => decodeReading(badPresence), { code: 'BAD_READING' });
});

t.test('reading v2: identity, clock deviation and status round trip, present or absent, at their extremes', async (t) => {
  for (const extra of [
    { meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null },
    { meterIdentity: 'x'.repeat(128), meterClockDeviationMin: -32768, meterClockStatus: 0 },
    { meterIdentity: 'Zähler 7', meterClockDeviationMin: 32767, meterClockStatus: 255 },
    { meterIdentity: null, meterClockDeviationMin: 0, meterClockStatus: null },
  ]) {
    const r = sample(extra);
    const bytes = encodeReading(r);
    t.equal(bytes[1], 2, 'encoders write version 2');
    t.same(decodeReading(bytes), r);
    t.notOk('version' in decodeReading(bytes), 'a v2 reading carries no version marker');
  }
  const flags = StatusFlag.RegisterWentBackwards | StatusFlag.JumpBeyondPhysicalMaximum | StatusFlag.MeterClockDriftBeyondTolerance | StatusFlag.MeterClockSet;
  t.equal(flags, 0b1111000, 'the plausibility flags are bits 3-6');
  t.equal(decodeReading(encodeReading(sample({ status: flags | StatusFlag.ReadRetried }))).status, 0b1111010);
});

t.test('reading v1: the frozen v1 bytes decode with the v2 fields absent and re-encode to the same bytes', async (t) => {
  const frozen = readJson<Record<string, string>>('meterseal/worked-example.json');
  const v1 = fromHex(frozen.v1ReadingBytes!);
  const r = decodeReading(v1);
  t.equal(r.version, 1);
  t.same([r.meterIdentity, r.meterClockDeviationMin, r.meterClockStatus], [null, null, null]);
  t.equal(r.meterId, 'DDSU666-000042');
  t.same(encodeReading(r), v1, 'same bytes');
  t.equal(toHex(readingHash(encodeReading(r))), frozen.v1ReadingHash, 'so the same hash the meter signed');
  const { version: _v, ...upgraded } = r;
  t.equal(encodeReading(upgraded)[1], 2, 'without the marker the same values encode as v2');
});

t.test('reading: encode/decode round trip for arbitrary valid readings (property)', async (t) => {
  const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
  const obisCodes = ['0.0.96.1.0.255', '1.0.1.8.0.255', '1.0.1.8.1.255', '1.0.1.8.2.255', '1.0.2.8.0.255', '1.0.32.7.0.255']; // OBIS order
  const reading = fc.record({
    meterId: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
    seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    meterTimeMs: fc.option(i64),
    meterIdentity: fc.option(fc.string({ minLength: 1, maxLength: 32, unit: 'grapheme' }).filter((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s) && new TextEncoder().encode(s).length <= 128)),
    meterClockDeviationMin: fc.option(fc.integer({ min: -32768, max: 32767 })),
    meterClockStatus: fc.option(fc.integer({ min: 0, max: 255 })),
    agentTimeMs: i64,
    clockSync: fc.constantFrom(ClockSync.Unknown, ClockSync.Synchronised, ClockSync.Unsynchronised),
    status: fc.integer({ min: 0, max: 0xffffffff }),
    registers: fc.subarray(obisCodes, { minLength: 1 }).chain((codes) => fc.tuple(...codes.map((obis) => fc.record({
      obis: fc.constant(obis), value: i64, scaler: fc.integer({ min: -128, max: 127 }), unit: fc.constantFrom('Wh' as const, 'V' as const, '1' as const),
      raw: fc.uint8Array({ maxLength: 255 }),
    })))),
    salt: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  });
  fc.assert(fc.property(reading, (r) => {
    const bytes = encodeReading(r as Reading);
    const back = decodeReading(bytes);
    return toHex(encodeReading(back)) === toHex(bytes) && back.meterIdentity === r.meterIdentity
      && back.meterClockDeviationMin === r.meterClockDeviationMin && back.meterClockStatus === r.meterClockStatus;
  }), { numRuns: Number(process.env.FUZZ_RUNS ?? 500) });
  t.pass('every generated reading survives encode → decode → encode unchanged');
});

t.test('every decoder throws only ProtocolError on arbitrary bytes (property)', async (t) => {
  const decoders = [decodeReading, decodeAnchor, decodeDelivery, decodeKeyBinding, decodeAuthResponse, decodeAuthResult,
    decodeRegistrationRequest, decodeIdentityCertificate, decodeKeyAnnouncement, splitSigned];
  const valids = [encodeReading(sample()), fromHex(readJson<Record<string, string>>('meterseal/worked-example.json').v1ReadingBytes!)];
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.tuple(fc.nat(1), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([which, tail]) => {
      const b = valids[which]!.slice();
      for (let i = 0; i < tail.length; i++) b[(tail[i]! * 7 + i) % b.length] = tail[i]!;
      return b;
    })), (bytes) => {
      for (const decode of decoders) {
        try {
          decode(bytes);
        } catch (e) {
          if (!(e instanceof ProtocolError)) return false;
        }
      }
      return true;
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
  );
  t.pass('no decoder threw anything but ProtocolError');
});

t.test('anchor, binding, auth, registration, certificate, announcement: round trips', async (t) => {
  const k = generateKeyPair();
  const anchor = { meterId: 'M-1', seq: 9n, keyId: keyId(k.publicKey), readingHash: new Uint8Array(32).fill(3) };
  t.same(decodeAnchor(encodeAnchor(anchor)), anchor);
  const binding = { meterId: 'M-1', identityKeyId: new Uint8Array(8).fill(1), sessionPublicKey: k.publicKey, firstSeq: 10n, createdAtMs: 5n };
  t.same(decodeKeyBinding(encodeKeyBinding(binding)), binding);
  const ar = { meterId: 'M-1', nonce: new Uint8Array(32).fill(4), timeMs: 6n };
  t.same(decodeAuthResponse(encodeAuthResponse(ar)), ar);
  const res = { meterId: 'M-1', passed: false, reason: 'bad-signature', timeMs: 7n };
  t.same(decodeAuthResult(encodeAuthResult(res)), res);
  const reg = { meterId: 'M-1', customerAccount: 'ACC-1', identityPublicKey: k.publicKey, firmwareHash: new Uint8Array(32), timeMs: 8n };
  t.same(decodeRegistrationRequest(encodeRegistrationRequest(reg)), reg);
  const cert = { meterId: 'M-1', identityPublicKey: k.publicKey, logOrigin: 'o', registrationIndex: 3n, issuedAtMs: 9n };
  t.same(decodeIdentityCertificate(encodeIdentityCertificate(cert)), cert);
  const ann = { certificate: new Uint8Array([1]), certificateSignature: new Uint8Array(64), binding: new Uint8Array([2]), bindingSignature: new Uint8Array(64).fill(1) };
  t.same(decodeKeyAnnouncement(encodeKeyAnnouncement(ann)), ann);
});

t.test('signed records: both verifiers accept the signature, and it does not transfer to another record type', async (t) => {
  const k = generateKeyPair();
  const anchor = encodeAnchor({ meterId: 'M-1', seq: 9n, keyId: keyId(k.publicKey), readingHash: new Uint8Array(32) });
  const sig = signRecord(anchor, k.secretKey);
  t.ok(verifyRecord(anchor, sig, k.publicKey));
  t.ok(verifyRecordNative(anchor, sig, k.publicKey));
  const { record, signature } = splitSigned(encodeSigned(anchor, sig));
  t.same(record, anchor);
  t.same(signature, sig);
  const tampered = anchor.slice();
  tampered[tampered.length - 1]! ^= 1;
  t.notOk(verifyRecordNative(tampered, sig, k.publicKey));
});

t.test('worked example (docs/protocol.md §11): bytes, hash and signature are frozen and documented', async (t) => {
  const frozen = readJson<Record<string, string>>('meterseal/worked-example.json');
  const e = workedExample();
  for (const f of ['sessionPublic', 'keyId', 'readingBytes', 'readingHash', 'anchorBytes', 'signingMessage', 'signature', 'delivery'] as const) {
    t.equal(toHex(e[f]), frozen[f], f);
  }
  t.ok(verifyRecordNative(e.anchorBytes, e.signature, e.sessionPublic), 'OpenSSL verifies the example signature');
  const d = decodeDelivery(e.delivery);
  t.same(anchorBytesOfReading(d.reading, d.decoded, d.keyId), e.anchorBytes, 'the collector rebuilds the same anchor');
  const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8').replace(/\s+/g, '');
  for (const f of ['readingBytes', 'readingHash', 'anchorBytes', 'signature', 'sessionPublic']) {
    t.ok(doc.includes(frozen[f]!), `docs/protocol.md shows ${f}`);
  }
  t.equal(toHex(fromHex(frozen.readingHash!)), toHex(readingHash(fromHex(frozen.readingBytes!))));
  const raw = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
  const dump = raw.slice(raw.indexOf('## 11. Worked example')).split('```')[1]!;
  const annotated = dump.split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '').join('');
  t.equal(annotated, frozen.readingBytes, 'the annotated field-by-field dump in §11 is exactly the reading bytes');
});

t.test('reading: hostile bytes either fail with a ProtocolError or decode to a reading that re-encodes to them (property)', async (t) => {
  const base = encodeReading(sample());
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.integer({ min: -8, max: 8 }), (edits, cut) => {
    const b = base.slice(0, cut < 0 ? base.length + cut : base.length);
    for (let i = 0; i < edits.length; i++) b[(edits[i]! * 13 + i * 31) % b.length] = edits[(i + 1) % edits.length]!;
    const bytes = cut > 0 ? new Uint8Array([...b, ...edits.slice(0, cut)]) : b;
    try {
      return toHex(encodeReading(decodeReading(bytes))) === toHex(bytes);
    } catch (e) {
      return e instanceof ProtocolError;
    }
  }), { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) });
  t.pass('canonical: nothing decodes unless it is the one encoding of its value');
});
