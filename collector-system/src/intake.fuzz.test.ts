// Fuzzing the collection system's MQTT payloads (interface 2, docs/protocol.md §8–§9, §12, §14; issue 8 item 2)
// over a real SQLite store: key announcements and deliveries (random, and mutations of a valid announcement
// from a certified meter and of the worked-example delivery) through Intake, gap and correction deliveries,
// the topic parser, and the MQTT size guard fed arbitrary chunks. Every payload is answered with ok or a
// rejection code — never INTERNAL (an untyped exception) — and the guard throws only CollectorError MALFORMED.
import t from 'tap';
import fc from 'fast-check';
import pino from 'pino';
import {
  ClockSync, CollectorTopics, chunked, encodeAnchor, encodeDelivery, encodeIdentityCertificate, encodeKeyAnnouncement, encodeKeyBinding,
  encodeReading, fuzzParams, generateKeyPair, keyId, mutateBytes, nativePublicKey, readingHash, signRecord, StatusFlag, valueOrTyped,
} from '@meterseal/protocol';
import { CollectorError } from './errors.js';
import { openCorrectionStore, correctionDelivery } from './corrections.js';
import { gapDelivery, openGapStore } from './gaps.js';
import { Intake, type ReplyTo } from './intake.js';
import { MqttSizeFramer } from './packet-guard.js';
import { openSqliteStore } from './sqlite-store.js';
import { StatsCounter } from './stats.js';
import { tempDir } from './testing/harness.js';
import { meterIdOfTopic } from './verify.js';

t.test('Intake, gap and correction deliveries: every payload gets ok or a rejection code, never INTERNAL', async (t) => {
  const dir = tempDir(t);
  const store = openSqliteStore(dir);
  const gaps = openGapStore(dir);
  const corrections = openCorrectionStore(dir);
  t.teardown(async () => {
    await store.close();
    gaps.close();
    corrections.close();
  });
  const ledger = generateKeyPair();
  const identity = generateKeyPair();
  const session = generateKeyPair();
  const meterId = 'M-1';
  // a delivery like the worked example of docs/protocol.md §11
  const readingBytes = encodeReading({
    meterId, seq: 7n, meterTimeMs: null, meterIdentity: '24110042', meterClockDeviationMin: null, meterClockStatus: null,
    agentTimeMs: BigInt(Date.UTC(2026, 10, 21, 12)), clockSync: ClockSync.Synchronised, status: StatusFlag.MeterTimeUnavailable,
    registers: [{ obis: '1.0.1.8.0.255', value: 12345n, scaler: 0, unit: 'Wh', raw: new Uint8Array([0x41, 0x45, 0x85, 0x1f]) }],
    salt: Uint8Array.from({ length: 16 }, (_, i) => i),
  });
  const anchor = encodeAnchor({ meterId, seq: 7n, keyId: keyId(session.publicKey), readingHash: readingHash(readingBytes) });
  const ex = { sessionPublic: session.publicKey, delivery: encodeDelivery({ keyId: keyId(session.publicKey), reading: readingBytes, signature: signRecord(anchor, session.secretKey) }) };
  const certificate = encodeIdentityCertificate({ meterId, identityPublicKey: identity.publicKey, logOrigin: 'meterseal.test/ledger', registrationIndex: 0n, issuedAtMs: 1_700_000_000_000n });
  const binding = encodeKeyBinding({ meterId, identityKeyId: keyId(identity.publicKey), sessionPublicKey: ex.sessionPublic, firstSeq: 1n, createdAtMs: 1_700_000_000_000n });
  const announcement = encodeKeyAnnouncement({ certificate, certificateSignature: signRecord(certificate, ledger.secretKey), binding, bindingSignature: signRecord(binding, identity.secretKey) });

  const stats = new StatsCounter();
  const answers: Array<{ ok: boolean; error?: { code: string } }> = [];
  const respond = (_r: ReplyTo, body: { ok: boolean; error?: { code: string } }) => void answers.push(body);
  const log = pino({ level: 'silent' });
  const intake = new Intake({ store, ledgerKey: nativePublicKey(ledger.publicKey), stats, log, maxPending: 100, respond });
  const reply: ReplyTo = { topic: `meterseal/v1/meter/${meterId}/response`, correlationData: null };

  await intake.keyAnnouncement(meterId, announcement, reply);
  await intake.delivery(meterId, ex.delivery, reply);
  t.match(answers, [{ ok: true }, { ok: true }], 'the seed announcement and delivery are accepted');

  const mutated = (seed: Uint8Array) => fc.tuple(fc.nat(), fc.nat(), fc.nat(255)).map(([o, a, v]) => mutateBytes(seed, o, a, v));
  const payload = fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated(announcement), mutated(ex.delivery), fc.uint8Array({ maxLength: 300 }).map((b) => Uint8Array.from([b[0] ?? 0, 1, ...b.subarray(1)])));
  const which = fc.constantFrom('keys', 'delivery', 'gap', 'correction');
  await fc.assert(
    fc.asyncProperty(which, payload, fc.constantFrom(meterId, 'M-2'), async (kind, p, id) => {
      answers.length = 0;
      if (kind === 'keys') await intake.keyAnnouncement(id, p, reply);
      else if (kind === 'delivery') await intake.delivery(id, p, reply);
      else if (kind === 'gap') await gapDelivery({ store, gaps, stats, log, respond }, id, p, reply);
      else await correctionDelivery({ store, corrections, stats, log, respond }, id, p, reply);
      if (stats.snapshot().rejected['INTERNAL']) throw new Error(`INTERNAL for a ${kind} payload`);
      return answers.every((a) => a.ok || (typeof a.error?.code === 'string' && a.error.code !== 'INTERNAL'));
    }),
    fuzzParams(500),
  );
  t.pass('typed answers only');
});

t.test('meterIdOfTopic: a meter id or a CollectorError', async (t) => {
  const prefix = CollectorTopics.readingPrefix;
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 100 }), fc.string({ maxLength: 80 }).map((s) => prefix + s)), (topic) => valueOrTyped(CollectorError, () => meterIdOfTopic(topic, prefix))), fuzzParams(1000));
  t.pass('typed');
});

t.test('MqttSizeFramer: any stream in any chunking throws only MALFORMED, and passes packets within the limit', async (t) => {
  const max = 300;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 6 }), (stream, cuts) => {
      const guard = new MqttSizeFramer(max);
      try {
        for (const c of chunked(stream, cuts)) guard.push(c);
      } catch (err) {
        return err instanceof CollectorError && err.code === 'MALFORMED';
      }
      return true;
    }),
    fuzzParams(1000),
  );
  // well-formed packets under the limit (MQTT 3.1.1 §2.2.3 remaining length), however cut, never trip it
  const packet = fc.uint8Array({ maxLength: max - 3 }).map((body) => {
    const len: number[] = [];
    let n = body.length;
    do {
      len.push((n % 128) | (n >= 128 ? 0x80 : 0));
      n = Math.floor(n / 128);
    } while (n > 0);
    return Uint8Array.from([0x30, ...len, ...body]);
  });
  fc.assert(
    fc.property(fc.array(packet, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 6 }), (packets, cuts) => {
      const guard = new MqttSizeFramer(max);
      for (const c of chunked(Uint8Array.from(packets.flatMap((p) => [...p])), cuts)) guard.push(c);
      return true;
    }),
    fuzzParams(500),
  );
  t.pass('bounded');
});
