import t from 'tap';
import { withCrc } from './crc.js';
import { encodeException, encodeReadRequest, encodeResponse, parseRequest, requestLength } from './frame.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('parses read holding / read input requests (§6.3, §6.4)', async (t) => {
  t.same(parseRequest(hex('01030000000ac5cd')), { unitId: 1, functionCode: 3, address: 0, quantity: 10 });
  t.same(parseRequest(encodeReadRequest(7, 4, 0x4000, 2)), { unitId: 7, functionCode: 4, address: 0x4000, quantity: 2 });
});

t.test('parses write single (§6.6) and write multiple (§6.12) requests', async (t) => {
  t.same(parseRequest(withCrc(hex('01 06 0001 0003'))), { unitId: 1, functionCode: 6, address: 1, quantity: 1, values: [3] });
  t.same(parseRequest(withCrc(hex('01 10 0001 0002 04 000a 0102'))), {
    unitId: 1, functionCode: 16, address: 1, quantity: 2, values: [10, 0x0102],
  });
});

t.test('malformed frames throw typed errors and carry no exception target', async (t) => {
  t.throws(() => parseRequest(hex('0103')), { name: 'SimulatorError', code: 'SHORT_FRAME' });
  t.throws(() => parseRequest(hex('01030000000ac5ce')), { code: 'CRC_MISMATCH' });
  t.throws(() => parseRequest(withCrc(hex('0103000000'))), { code: 'LENGTH_MISMATCH' });
  t.throws(() => parseRequest(withCrc(hex('01 10 0001 0002 04 000a'))), { code: 'LENGTH_MISMATCH' });
  t.throws(() => parseRequest(new Uint8Array(300)), { code: 'LENGTH_MISMATCH' });
  try {
    parseRequest(hex('01030000000ac5ce'));
  } catch (err) {
    t.equal((err as { exception?: unknown }).exception, undefined);
  }
});

t.test('unsupported function → ILLEGAL_FUNCTION with exception 01 target (§7)', async (t) => {
  t.throws(() => parseRequest(withCrc(hex('0101 0000 0008'))), {
    code: 'ILLEGAL_FUNCTION', exception: { unitId: 1, functionCode: 1, exceptionCode: 1 },
  });
});

t.test('quantity outside 1..125 (FC 03/04) or 1..123 / wrong byte count (FC 16) → exception 03', async (t) => {
  for (const q of [0, 126, 0xffff]) {
    t.throws(() => parseRequest(encodeReadRequest(1, 3, 0, q)), { code: 'ILLEGAL_DATA_VALUE', exception: { exceptionCode: 3 } }, `q=${q}`);
  }
  t.same(parseRequest(encodeReadRequest(1, 3, 0, 125)).quantity, 125);
  t.throws(() => parseRequest(withCrc(hex('01 10 0001 0002 02 000a'))), { code: 'ILLEGAL_DATA_VALUE' });
  t.throws(() => parseRequest(withCrc(hex('01 10 0001 0000 00'))), { code: 'ILLEGAL_DATA_VALUE' });
});

t.test('requestLength knows each supported function and waits for the FC 16 byte count', async (t) => {
  t.equal(requestLength(hex('0103')), 8);
  t.equal(requestLength(hex('0106')), 8);
  t.equal(requestLength(hex('0110000100')), 'more');
  t.equal(requestLength(hex('01100001000204')), 13);
  t.equal(requestLength(hex('0141')), 'unknown');
  t.equal(requestLength(hex('01')), 'more');
});

t.test('encodes responses byte for byte', async (t) => {
  const read = { unitId: 1, functionCode: 4 as const, address: 0x2000, quantity: 2 };
  t.equal(toHex(encodeResponse(read, hex('43663334'))), '010404436633341b38');
  t.throws(() => encodeResponse(read, hex('4366')), { code: 'LENGTH_MISMATCH' });
  t.equal(toHex(encodeResponse({ unitId: 1, functionCode: 6, address: 1, quantity: 1, values: [3] })), toHex(withCrc(hex('0106 0001 0003'))));
  t.equal(toHex(encodeResponse({ unitId: 1, functionCode: 16, address: 1, quantity: 2, values: [1, 2] })), toHex(withCrc(hex('0110 0001 0002'))));
});

t.test('exception responses set the high bit of the function code (§7)', async (t) => {
  t.equal(toHex(encodeException(1, 3, 2)), '018302c0f1');
  t.equal(toHex(encodeException(9, 4, 1).subarray(0, 3)), '098401');
  t.equal(toHex(encodeException(9, 16, 3).subarray(0, 3)), '099003');
});
