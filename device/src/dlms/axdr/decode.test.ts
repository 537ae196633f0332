import t from 'tap';
import { DlmsError } from '../errors.js';
import { hex, toHex } from '../hdlc/fixtures.js';
import { decodeData, parseData } from './decode.js';
import { encodeData } from './encode.js';
import { decodeLength, encodeLength } from './length.js';
import type { Data } from './types.js';

const roundTrip = (h: string, expected: Data) => {
  const d = parseData(hex(h));
  t.same(d, expected, h);
  t.equal(toHex(encodeData(d)), h, `${h} re-encodes`);
};

t.test('values from the captured GET responses', async () => {
  roundTrip('0600bc614e', { type: 'double-long-unsigned', value: 12345678 }); // 1.0.1.8.0.255 attribute 2
  roundTrip('02020f00161e', {
    type: 'structure',
    value: [{ type: 'integer', value: 0 }, { type: 'enum', value: 30 }],
  });
  roundTrip('02020f03161e', { type: 'structure', value: [{ type: 'integer', value: 3 }, { type: 'enum', value: 30 }] });
  roundTrip('12000b', { type: 'long-unsigned', value: 11 }); // 1.1.21.25.0.255 attribute 2
  roundTrip('091047525830303030303030313233343536', { type: 'octet-string', value: new TextEncoder().encode('GRX0000000123456') });
  roundTrip('090c07ea0b15060d203000000000', { type: 'octet-string', value: hex('07ea0b15060d203000000000') });
});

t.test('every type, both signs, both length forms', async () => {
  roundTrip('00', { type: 'null-data' });
  roundTrip('ff', { type: 'dont-care' });
  roundTrip('0301', { type: 'boolean', value: true });
  roundTrip('0300', { type: 'boolean', value: false });
  t.same(parseData(hex('0380')), { type: 'boolean', value: true }, 'any non-zero octet is TRUE');
  roundTrip('040ba5e0', { type: 'bit-string', value: hex('a5e0'), length: 11 });
  roundTrip('05ffffff85', { type: 'double-long', value: -123 });
  roundTrip('06ffffffff', { type: 'double-long-unsigned', value: 0xffffffff });
  roundTrip('0a03414243', { type: 'visible-string', value: 'ABC' });
  roundTrip('0a01e9', { type: 'visible-string', value: 'é' });
  roundTrip('0c02c3a9', { type: 'utf8-string', value: 'é' });
  roundTrip('0d99', { type: 'bcd', value: -103 });
  roundTrip('0f80', { type: 'integer', value: -128 });
  roundTrip('108000', { type: 'long', value: -32768 });
  roundTrip('11ff', { type: 'unsigned', value: 255 });
  roundTrip('12ffff', { type: 'long-unsigned', value: 65535 });
  roundTrip('148000000000000000', { type: 'long64', value: -(2n ** 63n) });
  roundTrip('15ffffffffffffffff', { type: 'long64-unsigned', value: 2n ** 64n - 1n });
  roundTrip('1602', { type: 'enum', value: 2 });
  roundTrip('173fc00000', { type: 'float32', value: 1.5 });
  roundTrip('18c004000000000000', { type: 'float64', value: -2.5 });
  roundTrip('1907ea0b15060d203000800000', { type: 'date-time', value: hex('07ea0b15060d203000800000') });
  roundTrip('1a07ea0b15ff', { type: 'date', value: hex('07ea0b15ff') });
  roundTrip('1b0d203000', { type: 'time', value: hex('0d203000') });
  const long = new Uint8Array(300).fill(7);
  roundTrip(`0982012c${toHex(long)}`, { type: 'octet-string', value: long });
  t.same(parseData(hex('098103616263')), { type: 'octet-string', value: hex('616263') }, 'a long form of a short length is read');
  roundTrip('0100', { type: 'array', value: [] });
  roundTrip('01020202110112000102021102120002', {
    type: 'array',
    value: [
      { type: 'structure', value: [{ type: 'unsigned', value: 1 }, { type: 'long-unsigned', value: 1 }] },
      { type: 'structure', value: [{ type: 'unsigned', value: 2 }, { type: 'long-unsigned', value: 2 }] },
    ],
  });
});

t.test('decodeData returns what follows the value; parseData refuses it', async (t) => {
  const { value, rest } = decodeData(hex('090c07ea0b15060d1b2600000000090f090c'));
  t.equal(value.type, 'octet-string');
  t.equal(toHex(rest), '090f090c');
  t.throws(() => parseData(hex('110100')), { name: 'DlmsError', code: 'LENGTH' });
});

t.test('malformed input throws typed errors', async (t) => {
  const cases: [string, string][] = [
    ['', 'SHORT'],
    ['07', 'AXDR'], // no type 7
    ['fe', 'AXDR'],
    ['13020f02', 'UNSUPPORTED'], // compact-array
    ['0600bc61', 'SHORT'],
    ['0905616263', 'LENGTH'],
    ['0980', 'LENGTH'], // indefinite length form
    ['0985ffffffffff', 'LENGTH'], // five length octets
    ['0982ff', 'SHORT'],
    ['01820100', 'LENGTH'], // 256 elements cannot fit in 0 bytes
    ['01020f01', 'SHORT'],
    ['0c02c328', 'AXDR'], // invalid UTF-8
    ['0410ff', 'SHORT'], // 16 bits need 2 octets
    ['1907ea', 'SHORT'],
  ];
  for (const [h, code] of cases) {
    const e = (() => {
      try {
        parseData(hex(h));
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    t.ok(e instanceof DlmsError && e.code === code, `${h || '(empty)'} → ${code} (got ${(e as DlmsError)?.code})`);
  }
});

t.test('nesting and element limits', async (t) => {
  const nested = (n: number) => hex('0101'.repeat(n) + '00');
  t.equal(parseData(nested(32)).type, 'array', '32 levels of arrays: the default limit');
  t.throws(() => parseData(nested(33)), { code: 'LIMIT' });
  t.throws(() => parseData(nested(5), { maxDepth: 4 }), { code: 'LIMIT' });
  t.throws(() => parseData(nested(100_000), { maxDepth: 1e9 }), { code: 'LIMIT' }, 'a huge maxDepth is capped: no stack overflow');
  const wide = hex('0181c8' + '00'.repeat(200));
  t.equal(parseData(wide).type, 'array');
  t.throws(() => parseData(wide, { maxElements: 199 }), { code: 'LIMIT' });
});

t.test('encodeData refuses values out of range', async (t) => {
  const bad: Data[] = [
    { type: 'unsigned', value: 256 },
    { type: 'integer', value: -129 },
    { type: 'long-unsigned', value: 1.5 },
    { type: 'double-long', value: 2 ** 31 },
    { type: 'long64-unsigned', value: -1n },
    { type: 'long64', value: 2n ** 63n },
    { type: 'date-time', value: new Uint8Array(11) },
    { type: 'bit-string', value: new Uint8Array(1), length: 9 },
    { type: 'visible-string', value: '€' },
    { type: 'nonsense' } as unknown as Data,
  ];
  for (const d of bad) t.throws(() => encodeData(d), { code: 'VALUE' }, d.type);
});

t.test('length encoding: short and long form', async (t) => {
  t.equal(toHex(encodeLength(0x7f)), '7f');
  t.equal(toHex(encodeLength(0x80)), '8180');
  t.equal(toHex(encodeLength(0x1e2)), '8201e2');
  t.equal(toHex(encodeLength(0x10000)), '83010000');
  t.same(decodeLength(hex('008201e2'), 1), [0x1e2, 4]);
  t.throws(() => encodeLength(-1), { code: 'VALUE' });
});
