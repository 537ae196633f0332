// Interface 2 end to end: the embedded broker, the collector's client, and a real mqtt.js client playing
// a meter. Threat-model rows: T-N1 (bit flips), T-N3 (replays, conflicts), T-N4 (injection), T-B1.
import t from 'tap';
import { CollectorTopics, toHex } from '@meterseal/protocol';
import { deliver, makeLedgerKey, makeMeter, makeReading } from './testing/fixtures.js';
import { connectMeter, startTestCollector } from './testing/harness.js';

const ledger = makeLedgerKey();

t.test('key announcement accepted, deliveries stored and acknowledged only once committed', async (t) => {
  const { collector } = await startTestCollector(t, ledger);
  const meter = makeMeter('DDSU666-000001', ledger);
  const client = await connectMeter(t, collector.mqttUrl, meter.meterId);

  t.same(await client.announce(meter.announcement, toHex(meter.keyId)), { op: 'keys', ref: toHex(meter.keyId), ok: true });
  for (const seq of [1n, 2n, 3n]) {
    const d = deliver(meter, makeReading(meter.meterId, seq));
    t.same(await client.deliver(seq, d.payload), { op: 'delivery', ref: String(seq), ok: true, seq: String(seq), duplicate: false });
    // the answer came after the commit: the reading is already readable from the store
    t.same((await collector.store.readings(meter.meterId, seq, seq))[0]?.reading, d.reading);
  }
  t.match(collector.stats(), { collected: 3, duplicates: 0, conflicts: 0, pending: 0, keys: 1, rejected: {} });
  const [key] = await collector.store.sessionKeys(meter.meterId);
  t.same(key?.sessionPublicKey, meter.session.publicKey);
  t.same(key?.identityPublicKey, meter.identity.publicKey);
});

t.test('a bit flipped in the reading fails the signature (T-N1): BAD_SIGNATURE, nothing stored', async (t) => {
  const { collector } = await startTestCollector(t, ledger);
  const meter = makeMeter('M-flip', ledger);
  const client = await connectMeter(t, collector.mqttUrl, meter.meterId);
  await client.announce(meter.announcement, toHex(meter.keyId));
  const d = deliver(meter, makeReading(meter.meterId, 7n));
  const flipped = d.payload.slice();
  flipped[flipped.length - 64 - 1]! ^= 0x01; // last byte of the reading's salt: still a canonical reading
  const answer = await client.deliver(7n, flipped);
  t.match(answer, { op: 'delivery', ref: '7', ok: false, error: { code: 'BAD_SIGNATURE' } });
  t.same(await collector.store.readings(meter.meterId, 0n, 100n), []);
  t.equal(collector.stats().rejected.BAD_SIGNATURE, 1);

  const sigFlipped = d.payload.slice();
  sigFlipped[sigFlipped.length - 1]! ^= 0x80;
  t.match(await client.deliver(7n, sigFlipped), { ok: false, error: { code: 'BAD_SIGNATURE' } }, 'a flipped signature bit too');
});

t.test('a delivery before its key announcement is kept as pending and stored when the announcement arrives', async (t) => {
  const { collector } = await startTestCollector(t, ledger);
  const meter = makeMeter('M-early', ledger);
  const client = await connectMeter(t, collector.mqttUrl, meter.meterId);
  const d1 = deliver(meter, makeReading(meter.meterId, 1n));
  const d2 = deliver(meter, makeReading(meter.meterId, 2n));
  t.match(await client.deliver(1n, d1.payload), { op: 'delivery', ref: '1', ok: false, error: { code: 'NO_SESSION_KEY' } });
  t.match(await client.deliver(2n, d2.payload), { ok: false, error: { code: 'NO_SESSION_KEY' } });
  t.match(await client.deliver(1n, d1.payload), { ok: false, error: { code: 'NO_SESSION_KEY' } }, 'a resend is kept once');
  t.equal(collector.stats().pending, 2);
  t.equal((await collector.store.counts()).pending, 2);

  const late1 = client.answer('delivery', '1');
  const late2 = client.answer('delivery', '2');
  t.match(await client.announce(meter.announcement, toHex(meter.keyId)), { ok: true });
  t.same(await late1, { op: 'delivery', ref: '1', ok: true, seq: '1', duplicate: false }, 'acknowledged once stored');
  t.same(await late2, { op: 'delivery', ref: '2', ok: true, seq: '2', duplicate: false });
  t.same((await collector.store.readings(meter.meterId, 0n, 10n)).map((s) => s.reading), [d1.reading, d2.reading]);
  t.equal(collector.stats().pending, 0);
  t.equal((await collector.store.counts()).pending, 0);
  t.match(await client.deliver(1n, d1.payload), { ok: true, duplicate: true }, 'the agent\'s next resend is a duplicate');
});

t.test('a certificate not signed by the trusted ledger key is refused, and its key never verifies readings', async (t) => {
  const { collector } = await startTestCollector(t, ledger);
  const impostor = makeLedgerKey('ledger.test/meterseal'); // same name, different key
  const meter = makeMeter('M-forged', impostor);
  const client = await connectMeter(t, collector.mqttUrl, meter.meterId);
  t.match(await client.announce(meter.announcement, toHex(meter.keyId)), { op: 'keys', ref: toHex(meter.keyId), ok: false, error: { code: 'BAD_CERTIFICATE' } });
  t.same(await collector.store.sessionKeys(meter.meterId), []);
  t.match(await client.deliver(1n, deliver(meter, makeReading(meter.meterId, 1n)).payload), { ok: false, error: { code: 'NO_SESSION_KEY' } });

  // a binding signed by a key other than the certified identity key
  const genuine = makeMeter('M-forged', ledger);
  const other = makeMeter('M-forged', ledger);
  const ann = genuine.announcement.slice();
  const bindingSigAt = ann.length - 64;
  ann.set(other.announcement.subarray(other.announcement.length - 64), bindingSigAt);
  t.match(await client.announce(ann, toHex(genuine.keyId)), { ok: false, error: { code: 'BAD_BINDING' } });
  t.same(collector.stats().rejected, { BAD_CERTIFICATE: 1, BAD_BINDING: 1, NO_SESSION_KEY: 1 });
});

t.test('duplicates are acknowledged as such; a different reading for a used (meter, seq) is a recorded conflict (T-N3)', async (t) => {
  const { collector } = await startTestCollector(t, ledger);
  const meter = makeMeter('M-dup', ledger);
  const client = await connectMeter(t, collector.mqttUrl, meter.meterId);
  await client.announce(meter.announcement, toHex(meter.keyId));
  const original = deliver(meter, makeReading(meter.meterId, 5n));
  t.match(await client.deliver(5n, original.payload), { ok: true, duplicate: false });
  t.match(await client.deliver(5n, original.payload), { ok: true, seq: '5', duplicate: true });

  const other = deliver(meter, makeReading(meter.meterId, 5n, 1n)); // validly signed, different values
  t.match(await client.deliver(5n, other.payload), { op: 'delivery', ref: '5', ok: false, error: { code: 'CONFLICT' } });
  t.same((await collector.store.readings(meter.meterId, 5n, 5n))[0]?.reading, original.reading, 'never overwritten');
  const conflicts = await collector.store.conflicts();
  t.equal(conflicts.length, 1);
  t.same(conflicts[0]?.bytes, other.readingBytes);
  t.match(collector.stats(), { collected: 1, duplicates: 1, conflicts: 1 });
});

t.test('malformed payloads are refused as MALFORMED and counted; the collector carries on', async (t) => {
  const { collector } = await startTestCollector(t, ledger);
  const meter = makeMeter('M-bad', ledger);
  const client = await connectMeter(t, collector.mqttUrl, meter.meterId);
  t.match(await client.request('delivery', '', CollectorTopics.reading(meter.meterId), new Uint8Array([1, 2, 3])), { ok: false, error: { code: 'MALFORMED' } });
  t.match(await client.request('keys', '', CollectorTopics.keys(meter.meterId), new Uint8Array([0x11, 0x01, 0xff])), { ok: false, error: { code: 'MALFORMED' } });
  const d = deliver(meter, makeReading(meter.meterId, 3n));
  const trailing = new Uint8Array([...d.payload, 0]);
  t.match(await client.request('delivery', '', CollectorTopics.reading(meter.meterId), trailing), { ok: false, error: { code: 'MALFORMED' } }, 'trailing byte');
  await client.publish(`${CollectorTopics.readingPrefix}not a meter id!`, d.payload); // no meter id: counted, not answered

  const elsewhere = await connectMeter(t, collector.mqttUrl, 'M-other');
  t.match(await elsewhere.request('delivery', '3', CollectorTopics.reading('M-other'), d.payload), { ok: false, error: { code: 'TOPIC_MISMATCH' } });

  await client.announce(meter.announcement, toHex(meter.keyId));
  t.match(await client.deliver(3n, d.payload), { ok: true }, 'still collecting');
  t.equal(collector.stats().rejected.MALFORMED, 4);
  t.equal(collector.stats().rejected.TOPIC_MISMATCH, 1);
});

t.test('a session key covers readings from its firstSeq until the next binding (docs/protocol.md §7)', async (t) => {
  const { collector } = await startTestCollector(t, ledger);
  const first = makeMeter('M-rot', ledger, { firstSeq: 1n });
  const second = makeMeter('M-rot', ledger, { firstSeq: 10n, identity: first.identity });
  const client = await connectMeter(t, collector.mqttUrl, first.meterId);
  await client.announce(first.announcement, toHex(first.keyId));
  t.match(await client.deliver(0n, deliver(first, makeReading('M-rot', 0n)).payload), { ok: false, error: { code: 'KEY_NOT_VALID_FOR_SEQ' } });
  t.match(await client.deliver(12n, deliver(first, makeReading('M-rot', 12n)).payload), { ok: true }, 'no later binding known yet');
  await client.announce(second.announcement, toHex(second.keyId));
  t.match(await client.deliver(11n, deliver(first, makeReading('M-rot', 11n)).payload), { ok: false, error: { code: 'KEY_NOT_VALID_FOR_SEQ' } });
  t.match(await client.deliver(9n, deliver(first, makeReading('M-rot', 9n)).payload), { ok: true });
  t.match(await client.deliver(11n, deliver(second, makeReading('M-rot', 11n)).payload), { ok: true });
});

t.test('the embedded broker keeps meters out of the collector\'s request topics and cuts oversized packets (T-B1)', async (t) => {
  const { collector } = await startTestCollector(t, ledger, { mqtt: { port: 0, maxPacketBytes: 4096 } });
  const snoop = await connectMeter(t, collector.mqttUrl, 'M-snoop');
  await t.rejects(snoop.client.subscribeAsync(CollectorTopics.readingFilter, { qos: 1 }), /Subscribe error/, 'subscription to other meters\' readings refused (SUBACK 0x80)');

  const meter = makeMeter('M-big', ledger);
  const big = await connectMeter(t, collector.mqttUrl, meter.meterId);
  const closed = new Promise<void>((resolve) => big.client.stream.once('close', () => resolve()));
  big.client.publish(CollectorTopics.reading(meter.meterId), Buffer.alloc(100_000, 1), { qos: 0 });
  await closed;
  t.pass('the connection that sent a 100 kB packet was cut');
  const ok = await connectMeter(t, collector.mqttUrl, meter.meterId);
  t.match(await ok.announce(meter.announcement, toHex(meter.keyId)), { ok: true }, 'others are served as before');
});
