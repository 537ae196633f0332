import t from 'tap';
import fc from 'fast-check';
import {
  addressLength,
  clientAddress,
  decodeAddress,
  encodeAddress,
  serverAddress,
  type HdlcAddress,
} from './address.js';
import { DlmsError } from './errors.js';

const code = (c: string) => ({ name: 'DlmsError', code: c });

t.test('captured addresses: 0x21 = client SAP 16, 0x23 = SAP 17, 0x03 = server logical device 1', async (t) => {
  t.same(Array.from(encodeAddress(clientAddress(0x10))), [0x21]);
  t.same(Array.from(encodeAddress(clientAddress(0x11))), [0x23]);
  t.same(Array.from(encodeAddress(serverAddress(1))), [0x03]);
  t.same(decodeAddress(Uint8Array.of(0x21)), { address: { size: 1, upper: 0x10 }, length: 1 });
  t.same(decodeAddress(Uint8Array.of(0x03)), { address: { size: 1, upper: 1 }, length: 1 });
});

t.test('two-byte server address: upper (logical) then lower (physical), 7 bits each', async (t) => {
  const a = serverAddress(1, 0x11);
  t.same(a, { size: 2, upper: 1, lower: 0x11 });
  t.same(Array.from(encodeAddress(a)), [0x02, 0x23]);
  t.same(decodeAddress(Uint8Array.of(0x02, 0x23)).address, a);
});

t.test('four-byte server address: 14-bit upper and lower, high 7 bits first, extension bit only at the end', async (t) => {
  const a = serverAddress(1, 0x1234);
  t.equal(a.size, 4);
  t.same(Array.from(encodeAddress(a)), [0x00, 0x02, 0x48, 0x69]);
  t.same(decodeAddress(Uint8Array.of(0x00, 0x02, 0x48, 0x69)), { address: a, length: 4 });
  t.same(Array.from(encodeAddress(serverAddress(0x3fff, 0x3ffe))), [0xfe, 0xfe, 0xfe, 0xfd], 'all-station / CALLING');
  t.same(serverAddress(1, 0x11, 4), { size: 4, upper: 1, lower: 0x11 }, 'size can be forced');
});

t.test('decode refuses 3-byte and over-long addresses, and addresses that run past the end', async (t) => {
  t.throws(() => decodeAddress(Uint8Array.of(0x02, 0x04, 0x07)), code('ADDRESS'));
  t.throws(() => decodeAddress(Uint8Array.of(0, 0, 0, 0, 1)), code('ADDRESS'));
  t.throws(() => decodeAddress(Uint8Array.of(0x02, 0x04)), code('ADDRESS'));
  t.throws(() => decodeAddress(Uint8Array.of(0x02, 0x03), 0, 1), code('ADDRESS'), 'end bounds the scan');
  t.equal(addressLength(Uint8Array.of(0x02), 0, 1), 'more');
  t.equal(addressLength(Uint8Array.of(0x02, 0x02, 0x03), 0, 3), 'bad');
});

t.test('encode validates ranges (IEC 62056-46 §6.4.2.2)', async (t) => {
  t.throws(() => clientAddress(0), code('ADDRESS'), 'client no-station');
  t.throws(() => clientAddress(0x7f), code('ADDRESS'), 'client all-station cannot call');
  t.throws(() => clientAddress(0x80), code('ADDRESS'));
  t.throws(() => clientAddress(1.5), code('ADDRESS'));
  t.throws(() => serverAddress(0), code('ADDRESS'), 'server no-station');
  t.throws(() => serverAddress(0x80), code('ADDRESS'), 'one byte holds 7 bits');
  t.throws(() => serverAddress(0x4000, 1), code('ADDRESS'), 'two bytes hold 14 bits');
  t.throws(() => serverAddress(1, undefined, 2), code('ADDRESS'), 'two bytes need a physical address');
  t.throws(() => serverAddress(1, 2, 1), code('ADDRESS'));
  t.throws(() => encodeAddress({ size: 3 as 2, upper: 1, lower: 1 }), code('ADDRESS'));
  t.throws(() => encodeAddress({ size: 1, upper: 1, lower: 1 }), code('ADDRESS'));
  t.throws(() => encodeAddress({ size: 2, upper: 1 }), code('ADDRESS'));
  t.throws(() => encodeAddress({ size: 1, upper: -1 }), DlmsError);
});

t.test('property: decode(encode(a)) = a for every well-formed address', async (t) => {
  const seven = fc.integer({ min: 0, max: 0x7f });
  const fourteen = fc.integer({ min: 0, max: 0x3fff });
  const address: fc.Arbitrary<HdlcAddress> = fc.oneof(
    seven.map((upper) => ({ size: 1 as const, upper })),
    fc.tuple(seven, seven).map(([upper, lower]) => ({ size: 2 as const, upper, lower })),
    fc.tuple(fourteen, fourteen).map(([upper, lower]) => ({ size: 4 as const, upper, lower })),
  );
  fc.assert(
    fc.property(address, (a) => {
      const bytes = encodeAddress(a);
      const d = decodeAddress(bytes);
      return bytes.length === a.size && d.length === a.size && JSON.stringify(d.address) === JSON.stringify(a);
    }),
  );
});
