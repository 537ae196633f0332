import t from 'tap';
import { hex, toHex } from '../hdlc/fixtures.js';
import { readTlvs, tlv } from './ber.js';
import { CONFORMANCE_BITS, decodeConformance, encodeConformance } from './conformance.js';
import { LLC_REQUEST, addLlc, stripLlc } from './llc.js';
import { formatObis, obis } from './obis.js';
import { captureObjects, clockReading, registerValue } from './objects.js';
import { scaledDecimal } from './units.js';

t.test('LLC: E6 E6 00 added to requests, E6 E7 00 checked and removed from answers', async (t) => {
  t.equal(toHex(addLlc(hex('c001'))), 'e6e600c001');
  t.same(Array.from(LLC_REQUEST), [0xe6, 0xe6, 0x00]);
  t.equal(toHex(stripLlc(hex('e6e700d80102'))), 'd80102');
  for (const bad of ['', 'e6e7', 'e6e600c4', 'e6e701c4']) t.throws(() => stripLlc(hex(bad)), { name: 'DlmsError', code: 'LLC' }, bad);
});

t.test('OBIS codes in every usual spelling', async (t) => {
  for (const s of ['1.0.1.8.0.255', '1-0:1.8.0*255', '1-0:1.8.0.255', '1-0:1.8.0', ' 1.0.1.8.0.255 ']) t.equal(toHex(obis(s)), '0100010800ff', s);
  t.equal(toHex(obis([0, 0, 96, 1, 0, 255])), '0000600100ff');
  t.equal(formatObis(hex('0100010800ff')), '1-0:1.8.0*255');
  for (const bad of ['1.0.1.8.0.256', '1.0.1.8', '1.0.1.8.0.255.1', 'a.b.c.d.e.f', '1..1.8.0.255', '']) t.throws(() => obis(bad), { code: 'VALUE' }, bad);
});

t.test('conformance block: bit 0 is the MSB of the first octet', async (t) => {
  t.same(decodeConformance(hex('5f1f0400000010')), ['get']);
  t.equal(toHex(encodeConformance(['reserved-zero', 'action'])), '5f1f0400800001');
  t.equal(toHex(encodeConformance(CONFORMANCE_BITS)), '5f1f0400ffffff');
  t.throws(() => decodeConformance(hex('5f1f03000000')), { code: 'SHORT' });
  t.throws(() => decodeConformance(hex('5f1f0500000000')), { code: 'APDU' });
});

t.test('BER TLVs: high tag numbers, long lengths, and refusals', async (t) => {
  t.same(readTlvs(hex('5f1f0400000010a100')).map((x) => [x.tag, toHex(x.value)]), [[0x5f1f, '00000010'], [0xa1, '']]);
  const long = tlv(0x04, new Uint8Array(200));
  t.equal(toHex(long.subarray(0, 3)), '0481c8');
  t.equal(readTlvs(long)[0]!.value.length, 200);
  for (const bad of ['04', '0403aa', '0480', '5f', '5f9f9f0100', '04850000000001']) t.throws(() => readTlvs(hex(bad)), { code: 'BER' }, bad);
});

t.test('Register value and scaler_unit', async (t) => {
  const su = (scaler: number, unit: number) => ({ type: 'structure' as const, value: [{ type: 'integer' as const, value: scaler }, { type: 'enum' as const, value: unit }] });
  t.same(registerValue({ type: 'double-long-unsigned', value: 12345678 }, su(0, 30)), { value: 12345678n, scaler: 0, unit: 30, unitSymbol: 'Wh', decimal: '12345678' });
  t.same(registerValue({ type: 'long-unsigned', value: 11 }, su(3, 30)).decimal, '11000');
  t.same(registerValue({ type: 'long64', value: -12345n }, su(-3, 33)).decimal, '-12.345');
  t.equal(scaledDecimal(5n, -3), '0.005');
  t.equal(scaledDecimal(0n, 2), '0');
  t.throws(() => registerValue({ type: 'float32', value: 1.5 }, su(0, 30)), { code: 'TYPE' });
  t.throws(() => registerValue({ type: 'unsigned', value: 1 }, { type: 'array', value: [] }), { code: 'TYPE' });
});

t.test('Clock time and capture objects', async (t) => {
  const r = clockReading({ type: 'octet-string', value: hex('07ea0b15060d203000000000') });
  t.same([r.iso, r.doubtful, r.status?.daylightSavingActive], ['2026-11-21T13:32:48.000Z', false, false]);
  t.equal(clockReading({ type: 'date-time', value: hex('07ea0b15060d2030ffffc482') }).iso, '2026-11-21T12:32:48.000Z');
  t.ok(clockReading({ type: 'date-time', value: hex('07ea0b15060d2030ffffc402') }).doubtful);
  t.throws(() => clockReading({ type: 'octet-string', value: hex('07ea0b15') }), { code: 'TYPE' });
  const cols = { type: 'array' as const, value: [{ type: 'structure' as const, value: [
    { type: 'long-unsigned' as const, value: 8 }, { type: 'octet-string' as const, value: obis('0.0.1.0.0.255') },
    { type: 'integer' as const, value: 2 }, { type: 'long-unsigned' as const, value: 0 },
  ] }] };
  t.same(captureObjects(cols), [{ classId: 8, logicalName: '0-0:1.0.0*255', attributeIndex: 2, dataIndex: 0 }]);
  t.throws(() => captureObjects({ type: 'array', value: [{ type: 'null-data' }] }), { code: 'TYPE' });
});
