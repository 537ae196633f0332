import t from 'tap';
import fc from 'fast-check';
import { fuzzParams } from '@meterseal/protocol';
import { clientAddress, serverAddress } from './address.js';
import { putFcs } from './fcs.js';
import { encodeFrame } from './frame.js';
import { HdlcFramer, type ReceivedFrame } from './framer.js';
import { allFrames, hex, sessions, toHex } from './fixtures.js';

const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));
const captured = allFrames.map((f) => f.bytes);
const capturedHex = captured.map(toHex);
const stream = concat(captured);

/** Pushes `bytes` cut at the given points; returns the frames' hex. */
function feed(framer: HdlcFramer, bytes: Uint8Array, cuts: number[] = []): string[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: ReceivedFrame[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(...framer.push(bytes.subarray(prev, p)));
    prev = p;
  }
  return out.map((r) => toHex(r.bytes));
}

t.test('the captured sessions in one stream, in one chunk: exactly the captured frames', async (t) => {
  const framer = new HdlcFramer();
  t.same(feed(framer, stream), capturedHex);
  t.same(framer.stats, { frames: captured.length, badFcs: 0, badHeader: 0, droppedBytes: 0 });
  t.equal(framer.buffered, 1, 'the last closing flag is kept: it may open the next frame');
});

t.test('property: split at random points, the stream yields exactly the captured frames', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 200 }), (cuts) => {
      const got = feed(new HdlcFramer(), stream, cuts);
      return JSON.stringify(got) === JSON.stringify(capturedHex);
    }),
    fuzzParams(200),
  );
  t.same(feed(new HdlcFramer(), stream, Array.from({ length: stream.length }, (_, i) => i)), capturedHex, 'byte by byte');
});

t.test('a flag shared between consecutive frames (IEC 62056-46 §6.4.1.2)', async (t) => {
  const shared = concat(captured.map((b, i) => (i === 0 ? b : b.subarray(1))));
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 100 }), (cuts) => {
      const got = feed(new HdlcFramer(), shared, cuts);
      return JSON.stringify(got) === JSON.stringify(capturedHex);
    }),
    fuzzParams(100),
  );
  const idle = concat([hex('7e7e7e'), captured[0]!, hex('7e7e'), captured[1]!]);
  t.same(feed(new HdlcFramer(), idle), capturedHex.slice(0, 2), 'idle flags between frames');
});

t.test('garbage between frames is dropped and counted; a frame with a bad FCS is dropped and counted', async (t) => {
  const framer = new HdlcFramer();
  const corrupt = captured[5]!.slice();
  corrupt[40]! ^= 0x01;
  const bytes = concat([hex('0102a0ff'), captured[0]!, hex('55aa'), corrupt, captured[1]!, hex('7ea0')]);
  t.same(feed(framer, bytes), capturedHex.slice(0, 2));
  const s = framer.stats;
  t.equal(s.badFcs, 1);
  t.equal(s.frames, 2);
  t.ok(s.droppedBytes >= 4 + 2 + corrupt.length - 1, `dropped ${s.droppedBytes} bytes`);
});

t.test('trailing garbage never makes it hang', async (t) => {
  // Garbage that looks like the start of a frame, then silence, then the next real frame.
  const framer = new HdlcFramer();
  t.same(feed(framer, concat([captured[0]!, hex('7ea8')])), capturedHex.slice(0, 1));
  t.same(feed(framer, captured[1]!), capturedHex.slice(1, 2), 'the false header is refused as soon as the real frame arrives');

  // A false header that even passes its HCS and announces 2047 bytes: the framer waits for them…
  const fake = hex('7ea7ff 0321 10 0000');
  putFcs(fake, 1, 6);
  const f2 = new HdlcFramer();
  t.same(feed(f2, concat([fake, captured[2]!])), []);
  // …until the caller, whose answer is overdue, gives the candidate up.
  t.same(f2.resync().map((r) => toHex(r.bytes)), capturedHex.slice(2, 3));
  t.equal(f2.stats.badHeader, 0);

  const f3 = new HdlcFramer();
  f3.push(hex('000102'));
  t.equal(f3.buffered, 0, 'bytes before any flag are dropped at once');
  f3.push(hex('7e'));
  t.same(f3.resync(), []);
  t.equal(f3.buffered, 0);
  f3.push(hex('7ea0'));
  f3.reset();
  t.equal(f3.buffered, 0);
});

t.test('property: arbitrary garbage between the frames of a session; the frames all come through', async (t) => {
  const frames = sessions[3]!.frames.map((f) => f.bytes);
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { minLength: frames.length + 1, maxLength: frames.length + 1 }), fc.array(fc.nat(), { maxLength: 50 }), (garbage, cuts) => {
      const framer = new HdlcFramer();
      const bytes = concat(frames.flatMap((f, i) => [garbage[i]!, f]).concat([garbage[frames.length]!]));
      const got = feed(framer, bytes, cuts);
      for (let guard = 0; framer.buffered > 0 && guard < 1000; guard++) got.push(...framer.resync().map((r) => toHex(r.bytes)));
      // Each real frame comes through; garbage could only add a frame if it held a valid FCS by chance.
      return frames.every((f) => got.includes(toHex(f)));
    }),
    fuzzParams(300),
  );
  t.pass('property held');
});

t.test('frames with 2- and 4-byte server addresses and 0x7E inside the information field', async (t) => {
  const info = Uint8Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? 0x7e : i & 0xff));
  const a = encodeFrame({ destination: clientAddress(0x10), source: serverAddress(0x1234, 0x3ffe), control: { kind: 'I', pf: true, ns: 3, nr: 4 }, segmented: true, information: info });
  const b = encodeFrame({ destination: serverAddress(1, 0x11), source: clientAddress(0x10), control: { kind: 'RR', pf: true, nr: 5 } });
  const framer = new HdlcFramer();
  const got = framer.push(concat([a, b.subarray(1), a]));
  t.same(got.map((r) => toHex(r.bytes)), [toHex(a), toHex(b), toHex(a)]);
  t.same(got[0]!.frame.source, { size: 4, upper: 0x1234, lower: 0x3ffe });
  t.same(Array.from(got[0]!.frame.information!), Array.from(info));
});

t.test('property: arbitrary bytes never throw, and what waits is less than one maximal frame', async (t) => {
  const chunk = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([0x7e, 0xa7, 0xff, ...b])),
    fc.constantFrom(...captured),
  );
  fc.assert(
    fc.property(fc.array(chunk, { maxLength: 80 }), (chunks) => {
      const framer = new HdlcFramer();
      for (const c of chunks) {
        framer.push(c);
        if (framer.buffered > 2048) return false;
      }
      framer.resync();
      return true;
    }),
    fuzzParams(300),
  );
  t.pass('property held');
});
