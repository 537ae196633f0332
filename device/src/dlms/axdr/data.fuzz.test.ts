import t from 'tap';
import fc from 'fast-check';
import { deepStrictEqual } from 'node:assert/strict';
import { fuzzParams } from '@meterseal/protocol';
import { DlmsError } from '../errors.js';
import { decodeData } from './decode.js';
import { encodeData } from './encode.js';
import type { Data } from './types.js';

const int = (type: Data['type'], min: number, max: number) => fc.integer({ min, max }).map((value) => ({ type, value }) as Data);
const bytes = (n?: number) => fc.uint8Array(n === undefined ? { maxLength: 140 } : { minLength: n, maxLength: n });

const { data } = fc.letrec<{ data: Data }>((tie) => ({
  data: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom<Data>({ type: 'null-data' }, { type: 'dont-care' }),
    fc.boolean().map((value) => ({ type: 'boolean', value }) as Data),
    fc.nat({ max: 300 }).chain((length) => bytes(Math.ceil(length / 8)).map((value) => ({ type: 'bit-string', value, length }) as Data)),
    int('integer', -128, 127),
    int('bcd', -128, 127),
    int('long', -32768, 32767),
    int('double-long', -(2 ** 31), 2 ** 31 - 1),
    int('unsigned', 0, 255),
    int('enum', 0, 255),
    int('long-unsigned', 0, 65535),
    int('double-long-unsigned', 0, 2 ** 32 - 1),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value) => ({ type: 'long64', value }) as Data),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((value) => ({ type: 'long64-unsigned', value }) as Data),
    fc.double().map((value) => ({ type: 'float64', value }) as Data),
    fc.float().map((value) => ({ type: 'float32', value }) as Data),
    bytes().map((value) => ({ type: 'octet-string', value }) as Data),
    bytes(12).map((value) => ({ type: 'date-time', value }) as Data),
    bytes(5).map((value) => ({ type: 'date', value }) as Data),
    bytes(4).map((value) => ({ type: 'time', value }) as Data),
    fc.string({ unit: 'binary', maxLength: 40 }).map((value) => ({ type: 'utf8-string', value }) as Data),
    fc.string({ maxLength: 40 }).map((value) => ({ type: 'visible-string', value }) as Data),
    fc.array(tie('data'), { maxLength: 5 }).map((value) => ({ type: 'array', value }) as Data),
    fc.array(tie('data'), { maxLength: 5 }).map((value) => ({ type: 'structure', value }) as Data),
  ),
}));

const equalBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

t.test('encode then decode gives the value back, with nothing left over', async (t) => {
  fc.assert(
    fc.property(data, fc.uint8Array({ maxLength: 4 }), (d, tail) => {
      const wire = encodeData(d);
      const { value, rest } = decodeData(Uint8Array.from([...wire, ...tail]));
      // compared as bytes: NaN payloads and -0 survive, and structure equality follows from the encoding
      return equalBytes(encodeData(value), wire) && equalBytes(rest, tail) && value.type === d.type;
    }),
    fuzzParams(2000),
  );
  t.pass('round trip');
});

t.test('decoded values equal the encoded ones (no floats: NaN is not equal to itself)', async (t) => {
  const noFloat = data.filter((d) => !JSON.stringify(d, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes('"float'));
  fc.assert(fc.property(noFloat, (d) => {
    deepStrictEqual(decodeData(encodeData(d)).value, d);
  }), fuzzParams(500));
  t.pass('decoded values equal the encoded ones');
});

// Mostly-valid inputs reach the deep checks that random bytes never get past.
const hostile = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(data.map(encodeData), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([w, at, x]) => {
    const b = w.slice();
    b[at % b.length]! ^= x;
    return b;
  }),
  fc.tuple(data.map(encodeData), fc.nat()).map(([w, n]) => w.subarray(0, n % (w.length + 1))),
  fc.tuple(fc.nat({ max: 200 }), fc.constantFrom(1, 2)).map(([n, tag]) => Uint8Array.from({ length: 2 * n + 1 }, (_, i) => (i % 2 ? 1 : tag))),
);

t.test('arbitrary bytes: a value or a DlmsError, nothing else, and never a hang', async (t) => {
  let decoded = 0;
  fc.assert(
    fc.property(hostile, (b) => {
      try {
        const { value, rest } = decodeData(b, { maxDepth: 16, maxElements: 1000 });
        decoded++;
        // what was accepted re-encodes to a value that decodes the same
        const again = encodeData(value);
        return equalBytes(encodeData(decodeData(again).value), again) && rest.length <= b.length;
      } catch (err) {
        if (err instanceof DlmsError) return true;
        throw err;
      }
    }),
    fuzzParams(5000),
  );
  t.ok(decoded > 0, `${decoded} inputs decoded`);
});
