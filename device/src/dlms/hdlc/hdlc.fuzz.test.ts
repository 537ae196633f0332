// Fuzzing the HDLC layer (issue 8 item 2): parseFrame, the address and control decoders, the SNRM/UA
// parameter parser and the stream framer, on random bytes and on mutations of the captured frames in
// device/test-vectors/dlms/. Every input gives a value or a DlmsError with a string code; the framer never
// throws, stays bounded, and still finds the real frames after garbage. Run count: fuzzParams (npm run fuzz).
import t from 'tap';
import fc from 'fast-check';
import { chunked, fuzzParams, mutateBytes, valueOrTyped } from '@meterseal/protocol';
import { DlmsError } from './errors.js';
import { decodeAddress } from './address.js';
import { decodeControl } from './control.js';
import { MAX_FRAME_LENGTH, parseFrame } from './frame.js';
import { HdlcFramer } from './framer.js';
import { parseParameters } from './snrm.js';
import { allFrames } from './fixtures.js';

const good = allFrames.filter((f) => f.fcsOk).map((f) => f.bytes);
const typed = (f: () => unknown) => valueOrTyped(DlmsError, f);
const mutated = fc.tuple(fc.constantFrom(...good), fc.nat(), fc.nat(), fc.nat(255)).map(([b, op, at, v]) => mutateBytes(b, op, at, v));
const hostile = fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated, mutated.map((b) => mutateBytes(b, 7, 1, 0xff)));

t.test('the captured frames parse (the mutation seeds are valid)', async (t) => {
  t.ok(good.length >= 10, `${good.length} captured frames`);
  for (const b of good) t.doesNotThrow(() => parseFrame(b));
});

t.test('parseFrame: random and mutated frames give a frame or a DlmsError', async (t) => {
  let parsed = 0;
  fc.assert(
    fc.property(hostile, (b) => typed(() => (parseFrame(b), parsed++))),
    fuzzParams(2000),
  );
  t.pass(`only frames or DlmsErrors (${parsed} parsed)`);
});

t.test('decodeAddress, decodeControl and parseParameters: values or DlmsErrors', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 8 }), fc.nat(8), (b, off) => typed(() => decodeAddress(b, off))), fuzzParams(1000));
  fc.assert(fc.property(fc.integer({ min: -1, max: 256 }), (c) => typed(() => decodeControl(c))), fuzzParams(300));
  const snrm = Uint8Array.from([0x81, 0x80, 0x12, 0x05, 0x01, 0x80, 0x06, 0x01, 0x80, 0x07, 0x04, 0x00, 0x00, 0x00, 0x01, 0x08, 0x04, 0x00, 0x00, 0x00, 0x01]);
  t.doesNotThrow(() => parseParameters(snrm), 'the seed SNRM parameters parse');
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 60 }), fc.tuple(fc.nat(), fc.nat(), fc.nat(255)).map(([o, a, v]) => mutateBytes(snrm, o, a, v))), (b) =>
      typed(() => parseParameters(b)),
    ),
    fuzzParams(1000),
  );
  t.pass('typed');
});

t.test('HdlcFramer: any bytes in any chunking never throw and never buffer more than one maximal frame', async (t) => {
  const bound = MAX_FRAME_LENGTH + 2;
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }), (parts, cuts) => {
      const framer = new HdlcFramer();
      const stream = Uint8Array.from(parts.flatMap((p) => [...p]));
      for (const c of chunked(stream, cuts)) {
        framer.push(c);
        if (framer.buffered > bound) return false;
      }
      framer.resync();
      return framer.buffered <= bound;
    }),
    fuzzParams(500),
  );
  t.pass('bounded');
});

t.test('HdlcFramer: real frames behind garbage are found whatever the chunking (resync)', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(...good)), { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 6 }), (items, cuts) => {
      // garbage without flags cannot open a candidate, so every real frame must come out
      const stream = Uint8Array.from(items.flatMap(([noise, f]) => [...noise.filter((x) => x !== 0x7e), ...f]));
      const framer = new HdlcFramer();
      const got = chunked(stream, cuts).flatMap((c) => framer.push(c));
      return got.length === items.length && got.every((g, i) => Buffer.from(g.bytes).equals(Buffer.from(items[i]![1])));
    }),
    fuzzParams(300),
  );
  t.pass('resynchronised');
});
