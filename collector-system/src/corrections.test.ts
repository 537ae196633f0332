// Corrections on interface 2 (docs/protocol.md §14) through a real collector and its embedded MQTT broker: a
// correction verified against the meter's session key and its stored original is kept apart; one for an unknown
// original, with the wrong original hash, a bad signature or on a seq a reading holds is refused with a named code;
// the original reading is never touched.
import { join } from 'node:path';
import t from 'tap';
import { encodeReading, generateKeyPair, readingHash, signCorrection, toHex, type Correction } from '@meterseal/protocol';
import { CorrectionStore } from './corrections.js';
import { deliver, makeLedgerKey, makeMeter, makeReading, type SignedDelivery } from './testing/fixtures.js';
import { connectMeter, startTestCollector } from './testing/harness.js';

const key = makeLedgerKey();

t.test('a correction is stored apart from readings; bad ones are refused with a named reason', async (t) => {
  const { collector, dataDir } = await startTestCollector(t, key);
  const meterId = 'M-COR';
  const meter = makeMeter(meterId, key, { firstSeq: 1n });
  const client = await connectMeter(t, collector.mqttUrl, meterId);
  t.match(await client.announce(meter.announcement, toHex(meter.keyId)), { ok: true });
  const sent = new Map<bigint, SignedDelivery>();
  for (let seq = 1n; seq <= 5n; seq++) {
    const d = deliver(meter, makeReading(meterId, seq));
    sent.set(seq, d);
    t.match(await client.deliver(seq, d.payload), { ok: true });
  }
  const base: Correction = {
    meterId, seq: 6n, originalSeq: 3n, originalHash: sent.get(3n)!.hash, agentTimeMs: 1_795_262_406_000n, reason: 'register scaler was wrong',
    registers: [{ obis: '1.0.1.8.0.255', value: 1_000_210n, scaler: -1, unit: 'Wh' }], salt: new Uint8Array(16).fill(1),
  };
  const session = { keyId: meter.keyId, secretKey: meter.session.secretKey };
  const payload = (c: Correction, s = session): Uint8Array => signCorrection(c, s).delivery;

  t.match(await client.deliver(6n, payload({ ...base, originalSeq: 2n, seq: 6n, originalHash: sent.get(3n)!.hash })), { ok: false, error: { code: 'UNKNOWN_ORIGINAL' } },
    'the named hash is not the stored reading\'s at that seq');
  t.match(await client.deliver(50n, payload({ ...base, seq: 50n, originalSeq: 45n })), { ok: false, error: { code: 'UNKNOWN_ORIGINAL' } }, 'no such original stored');
  t.match(await client.deliver(6n, payload(base, { keyId: meter.keyId, secretKey: generateKeyPair().secretKey })), { ok: false, error: { code: 'BAD_SIGNATURE' } });
  t.match(await client.deliver(4n, payload({ ...base, seq: 4n })), { ok: false, error: { code: 'CONFLICT' } }, 'a reading holds seq 4');
  t.match(await client.deliver(6n, payload({ ...base, meterId: 'M-OTHER' })), { ok: false, error: { code: 'TOPIC_MISMATCH' } });
  t.match(await client.deliver(6n, payload(base, { keyId: new Uint8Array(8).fill(7), secretKey: meter.session.secretKey })), { ok: false, error: { code: 'NO_SESSION_KEY' } });
  t.equal(collector.corrections.count(), 0, 'nothing refused was stored');
  t.equal(collector.stats().rejected.UNKNOWN_ORIGINAL, 2, 'refusals are counted by code');

  t.match(await client.deliver(6n, payload(base)), { ok: true, seq: '6', duplicate: false });
  t.match(await client.deliver(6n, payload(base)), { ok: true, duplicate: true }, 'the same correction again is a duplicate');
  t.match(await client.deliver(6n, payload({ ...base, reason: 'another story' })), { ok: false, error: { code: 'CONFLICT' } }, 'another correction at seq 6');
  const stored = collector.corrections.corrections(meterId);
  t.equal(stored.length, 1);
  t.same((stored[0] as { correction: Correction }).correction, base);
  const [original] = await collector.store.readings(meterId, 3n, 3n, 1);
  t.same(readingHash(encodeReading(original!.reading)), sent.get(3n)!.hash, 'the original reading is untouched');
  t.equal((await collector.store.counts()).readings, 5, 'a correction is not a reading');

  await collector.close();
  const reopened = new CorrectionStore(join(dataDir, 'corrections.sqlite'));
  t.teardown(() => reopened.close());
  t.equal(reopened.count(), 1, 'kept in its own SQLite file');
});
