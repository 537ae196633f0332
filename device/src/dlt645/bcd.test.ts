import t from 'tap';
import fc from 'fast-check';
import { bcdDigits, decodeBcd, encodeBcd, isBcdByte, maxBcd } from './bcd.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('little-endian packed BCD, as the captured meter sent it', async (t) => {
  t.equal(decodeBcd(hex('67452301')), 1234567n, '12345.67 kWh');
  t.equal(decodeBcd(hex('0123')), 2301n, '230.1 V');
  t.equal(decodeBcd(hex('505200')), 5250n, '5.250 A');
  t.equal(toHex(encodeBcd(1234567n, 4)), '67452301');
  t.equal(decodeBcd(hex('00')), 0n);
  t.equal(decodeBcd(hex('99999999')), 99_999_999n, 'the largest unsigned 4-byte value');
});

t.test('the sign bit: top bit of the most significant byte', async (t) => {
  t.equal(decodeBcd(hex('505280'), { signed: true }), -5250n, '−5.250 A');
  t.equal(decodeBcd(hex('505200'), { signed: true }), 5250n);
  t.equal(decodeBcd(hex('99999979'), { signed: true }), 79_999_999n, 'the top digit keeps three bits: 7');
  t.equal(decodeBcd(hex('999999f9'), { signed: true }), -79_999_999n);
  t.equal(decodeBcd(hex('000080'), { signed: true }), 0n, 'negative zero is zero');
  t.equal(toHex(encodeBcd(-5250n, 3, { signed: true })), '505280');
  t.equal(toHex(encodeBcd(-79_999_999n, 4, { signed: true })), '999999f9');
  t.equal(maxBcd(3, { signed: true }), 799_999n);
  t.equal(maxBcd(3), 999_999n);
  t.equal(decodeBcd(hex('505280')), 805_250n, 'unsigned, the same bytes are just 805250');
});

t.test('non-BCD nibbles are rejected, in any position', async (t) => {
  for (const bad of ['0a', 'a0', 'ff', '000a', '1234567f', 'fe']) {
    t.throws(() => decodeBcd(hex(bad)), { name: 'Dlt645Error', code: 'BCD' }, bad);
  }
  t.equal(decodeBcd(hex('0000a0'), { signed: true }), -200_000n, 'signed: 0xa0 is the sign and 20');
  t.throws(() => decodeBcd(hex('0000a0')), { code: 'BCD' }, 'unsigned: 0xa0 is not BCD');
  t.throws(() => decodeBcd(hex('00fa'), { signed: true }), { code: 'BCD' }, 'signed: 0x7a after the sign bit');
  t.throws(() => decodeBcd(new Uint8Array(0)), { code: 'LENGTH' });
  t.throws(() => bcdDigits(hex('1a')), { code: 'BCD' });
  t.notOk(isBcdByte(0x9a));
  t.ok(isBcdByte(0x99));
});

t.test('values that do not fit are refused, not truncated', async (t) => {
  t.throws(() => encodeBcd(100_000_000n, 4), { code: 'BCD' });
  t.throws(() => encodeBcd(800_000n, 3, { signed: true }), { code: 'BCD' });
  t.throws(() => encodeBcd(-1n, 2), { code: 'BCD', message: /unsigned/ });
  t.throws(() => encodeBcd(1n, 0), { code: 'LENGTH' });
});

t.test('encode and decode are inverse (property)', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 16n }), (length, signed, seed) => {
      const max = maxBcd(length, { signed });
      const magnitude = seed % (max + 1n);
      const value = signed && seed % 2n === 1n ? -magnitude : magnitude;
      return decodeBcd(encodeBcd(value, length, { signed }), { signed }) === value;
    }),
  );
  t.pass('round trip holds');
});
