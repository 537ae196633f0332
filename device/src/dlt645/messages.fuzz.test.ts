// Fuzzing the DL/T 645-2007 application layer of the reader (issue 8 item 2): read-data and read-address
// answers (§7.1, §7.4), data identifiers, BCD values of every identifier in the table, and the meter
// clock (04000101/04000102). Frames are built from random and mutated data fields; every input gives a
// value or a Dlt645Error with a string code, nothing else.
import t from 'tap';
import fc from 'fast-check';
import { fuzzParams, mutateBytes, valueOrTyped } from '@meterseal/protocol';
import { Dlt645Error } from './errors.js';
import { decodeBcd } from './bcd.js';
import { parseMeterDate, parseMeterTime } from './clock.js';
import { DLT645_IDENTIFIERS, decodeIdentifierValue } from './identifiers.js';
import { decodeDi, parseReadAddressAnswer, parseReadDataAnswer } from './messages.js';
import type { Dlt645Frame } from './frame.js';

const typed = (f: () => unknown) => valueOrTyped(Dlt645Error, f);
const seed = Uint8Array.of(0x00, 0x00, 0x01, 0x00, 0x34, 0x12, 0x00, 0x00); // DI 00010000 (A0 first) + 00001234 (XXXXXX.XX)
const data = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.tuple(fc.nat(), fc.nat(), fc.nat(255)).map(([o, a, v]) => mutateBytes(seed, o, a, v)));
const frame: fc.Arbitrary<Dlt645Frame> = fc.record({
  address: fc.constantFrom('000000000001', '123456789012', 'AAAAAAAAAAAA', '999999999999'),
  control: fc.oneof(fc.constantFrom(0x91, 0xb1, 0xd1, 0x93, 0xd3, 0x11, 0x13), fc.nat(255)),
  data,
});

t.test('parseReadDataAnswer / parseReadAddressAnswer: a value or a Dlt645Error', async (t) => {
  t.doesNotThrow(() => parseReadDataAnswer({ address: '000000000001', control: 0x91, data: seed }), 'the seed answer parses');
  fc.assert(fc.property(frame, (f) => typed(() => parseReadDataAnswer(f)) && typed(() => parseReadAddressAnswer(f))), fuzzParams(2000));
  t.pass('typed');
});

t.test('decodeDi, decodeBcd, the clock and every identifier value decoder: a value or a Dlt645Error', async (t) => {
  const defs = fc.constantFrom(...DLT645_IDENTIFIERS);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 10 }), defs, fc.boolean(), (b, def, signed) =>
      typed(() => decodeDi(b)) && typed(() => decodeBcd(b, { signed })) && typed(() => parseMeterDate(b)) && typed(() => parseMeterTime(b)) && typed(() => decodeIdentifierValue(def, b)),
    ),
    fuzzParams(2000),
  );
  // the right length for each identifier reaches the BCD digit checks
  fc.assert(fc.property(defs, fc.uint8Array({ minLength: 8, maxLength: 8 }), (def, b) => typed(() => decodeIdentifierValue(def, b.subarray(0, def.length)))), fuzzParams(2000));
  t.pass('typed');
});
