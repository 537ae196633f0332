import t from 'tap';
import fc from 'fast-check';
import { fuzzParams } from '@meterseal/protocol';
import { Dlt645Error } from './errors.js';
import { dlt645Bcd, encodeDlt645Frame, parseDlt645Frame } from '@meterseal/simulator';
import { encodeBcd } from './bcd.js';
import { checksum, encodeAddress, encodeFrame, parseFrame, type Dlt645Frame } from './frame.js';
import { Dlt645Framer } from './framer.js';

const address = fc.array(fc.oneof(fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, '0')), fc.constant('AA')), { minLength: 6, maxLength: 6 }).map((a) => a.join(''));
const frame: fc.Arbitrary<Dlt645Frame> = fc.record({
  address,
  control: fc.integer({ min: 0, max: 255 }),
  data: fc.uint8Array({ maxLength: 200 }),
});
const wire = fc.tuple(frame, fc.integer({ min: 0, max: 4 })).map(([f, preamble]) => encodeFrame(f, { preamble }));

// Mostly-valid inputs reach the deep checks that random bytes never get past.
const hostile = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(wire, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([w, at, x]) => {
    const b = w.slice();
    b[at % b.length]! ^= x;
    return b;
  }),
  fc.tuple(wire, fc.nat()).map(([w, n]) => w.subarray(0, n % (w.length + 1))),
  fc.tuple(wire, fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([w, tail]) => Uint8Array.from([...w, ...tail])),
  fc.tuple(wire, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([w, at, v]) => {
    // a wrong byte with the checksum fixed up: only the structure checks can catch it
    const b = w.slice();
    let s = 0;
    while (b[s] === 0xfe) s++;
    const i = s + (at % (b.length - s - 2));
    b[i] = v;
    b[b.length - 2] = checksum(b, s, b.length - 2);
    return b;
  }),
);

t.test('parseFrame on arbitrary bytes returns a frame or throws Dlt645Error, nothing else', async (t) => {
  let parsed = 0;
  fc.assert(
    fc.property(hostile, (bytes) => {
      try {
        const f = parseFrame(bytes);
        parsed++;
        // anything accepted is canonical: it re-encodes to the same bytes
        let p = 0;
        while (bytes[p] === 0xfe) p++;
        return Buffer.from(encodeFrame(f, { preamble: 0 })).equals(Buffer.from(bytes.subarray(p)));
      } catch (err) {
        return err instanceof Dlt645Error && typeof err.code === 'string';
      }
    }),
    fuzzParams(3000),
  );
  t.ok(parsed > 0, `some inputs were frames (${parsed})`);
});

t.test('every valid frame round-trips', async (t) => {
  fc.assert(
    fc.property(frame, fc.integer({ min: 0, max: 4 }), (f, preamble) => {
      const back = parseFrame(encodeFrame(f, { preamble }));
      return back.address === f.address && back.control === f.control && Buffer.from(back.data).equals(Buffer.from(f.data));
    }),
    fuzzParams(100),
  );
  t.pass();
});

t.test('the framer never throws, and finds every frame however the stream is cut', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 20 }), frame)), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }), (items, cuts) => {
      const stream = Uint8Array.from(items.flatMap(([noise, f]) => [...noise.filter((b) => b !== 0x68), ...encodeFrame(f)]));
      const framer = new Dlt645Framer();
      const got: Dlt645Frame[] = [];
      for (let at = 0, i = 0; at < stream.length; i++) {
        const n = cuts[i % cuts.length]!;
        got.push(...framer.push(stream.subarray(at, at + n)));
        at += n;
      }
      return got.length === items.length && got.every((g, i) => g.address === items[i]![1].address && Buffer.from(g.data).equals(Buffer.from(items[i]![1].data)));
    }),
    fuzzParams(300),
  );
  t.pass();
});

t.test("the simulator's independent codec agrees with this one, both ways", async (t) => {
  fc.assert(
    fc.property(frame.filter((f) => !f.address.includes('AA')), (f) => {
      const ours = encodeFrame(f, { preamble: 0 });
      const theirs = parseDlt645Frame(ours);
      const back = encodeDlt645Frame(theirs, 0);
      return Buffer.from(theirs.addressWire).equals(Buffer.from(encodeAddress(f.address))) && Buffer.from(back).equals(Buffer.from(ours));
    }),
    fuzzParams(100),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.boolean(), fc.bigInt({ min: -(10n ** 11n), max: 10n ** 11n }), (length, signed, v) => {
      const limit = signed ? 8n * 10n ** BigInt(2 * length - 1) - 1n : 10n ** BigInt(2 * length) - 1n;
      if (v > limit || v < (signed ? -limit : 0n)) return true; // the simulator saturates; ours refuses
      return Buffer.from(dlt645Bcd(v, length, signed)).equals(Buffer.from(encodeBcd(v, length, { signed })));
    }),
    fuzzParams(100),
  );
  t.pass();
});
