// readingHead: the seq and agent time of a reading's canonical bytes (docs/protocol.md §3) read at their
// offsets, for v1 and v2 readings with every optional field present or absent; anything else gives null.
import t from 'tap';
import { encodeReading, type Reading } from '@meterseal/protocol';
import { headMatcher, readingHead } from './rehash-head.js';
import { makeReading } from './testing/fixtures.js';

const variants = (): Reading[] => {
  const base = makeReading('M-head', 42n);
  return [
    base,
    { ...base, meterTimeMs: null, meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null },
    { ...base, meterTimeMs: -5n, meterIdentity: 'ü'.repeat(64), meterClockDeviationMin: -32768, meterClockStatus: 255 },
    { ...base, meterTimeMs: null, meterIdentity: 'x', meterClockDeviationMin: null, meterClockStatus: 0, agentTimeMs: -(1n << 63n) },
    { ...base, version: 1, meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null, seq: (1n << 64n) - 1n, agentTimeMs: (1n << 63n) - 1n },
    { ...base, version: 1, meterTimeMs: null, meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null },
  ];
};

t.test('seq and agent time of v1 and v2 readings, every optional field present or absent', async (t) => {
  for (const [i, r] of variants().entries()) {
    const bytes = encodeReading(r);
    t.match(readingHead(bytes), { seq: r.seq, agentTimeMs: r.agentTimeMs, meterIdLength: 6 }, `variant ${i}`);
    t.same(readingHead(new Uint8Array(bytes)), readingHead(Buffer.from(bytes)), `variant ${i}: a Buffer reads the same`);
    t.ok(headMatcher('M-head')(bytes, r.seq), `variant ${i}: matches its meter and seq`);
    t.equal(headMatcher('M-head')(bytes, r.seq + 1n > (1n << 64n) - 1n ? 0n : r.seq + 1n), null, `variant ${i}: not another seq`);
    t.equal(headMatcher('M-heae')(bytes, r.seq), null, `variant ${i}: not another meter of the same length`);
    t.equal(headMatcher('M-hea')(bytes, r.seq), null, `variant ${i}: not a shorter meter id`);
  }
});

t.test('bytes that do not start as a reading give null, never an exception', async (t) => {
  const bytes = encodeReading(variants()[2]!);
  const head = readingHead(bytes)!;
  // the head ends after the agent time: every shorter prefix is incomplete
  const end = bytes.length - (1 + 4 + 1) - 2 * (6 + 8 + 1 + 1 + 1 + 4) - 16;
  for (let cut = 0; cut < end; cut++) t.equal(readingHead(bytes.subarray(0, cut)), null, `cut at ${cut}`);
  t.same(readingHead(bytes.subarray(0, end)), head, 'the head alone is enough');
  t.equal(readingHead(Uint8Array.from(bytes, (b, i) => (i === 0 ? 0x02 : b))), null, 'an anchor type byte');
  t.equal(readingHead(Uint8Array.from(bytes, (b, i) => (i === 1 ? 3 : b))), null, 'an unknown version');
  const presence = 3 + 6 + 8; // the meterTime presence byte
  t.equal(readingHead(Uint8Array.from(bytes, (b, i) => (i === presence ? 2 : b))), null, 'a presence byte of 2');
  for (let i = 0; i < 200; i++) {
    const junk = new Uint8Array(Math.floor(Math.random() * 60)).map(() => Math.floor(Math.random() * 256));
    const h = readingHead(junk);
    t.ok(h === null || (typeof h.seq === 'bigint' && typeof h.agentTimeMs === 'bigint'), 'random bytes: a head or null');
  }
});
