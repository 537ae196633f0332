import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from './bytes.js';
import { ProtocolError } from './errors.js';
import { generateKeyPair, keyId } from './ed25519.js';
import { ClockSync, decodeReading, encodeReading, readingHash, type Reading } from './reading.js';
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
  wrongVersion[1] = 2;
  t.throws(() => decodeReading(wrongVersion), { code: 'BAD_VERSION' });
});

t.test('every decoder throws only ProtocolError on arbitrary bytes (property)', async (t) => {
  const decoders = [decodeReading, decodeAnchor, decodeDelivery, decodeKeyBinding, decodeAuthResponse, decodeAuthResult,
    decodeRegistrationRequest, decodeIdentityCertificate, decodeKeyAnnouncement, splitSigned];
  const valid = encodeReading(sample());
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 1, maxLength: 8 }).map((tail) => {
      const b = valid.slice();
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

t.test('worked example (docs/protocol.md §10): bytes, hash and signature are frozen and documented', async (t) => {
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
});
