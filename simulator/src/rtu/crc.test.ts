import t from 'tap';
import { crc16, crcValid, withCrc } from './crc.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('Modbus over Serial Line V1.02 §6.2.2: 01 03 00 00 00 0A has CRC 0xCDC5, sent C5 CD (low byte first)', async (t) => {
  t.equal(crc16(hex('01030000000a')), 0xcdc5);
  t.equal(toHex(withCrc(hex('01030000000a'))), '01030000000ac5cd');
});

t.test('a response captured from a real DDSU666 (Tasmota driver comment) ends in 1B 38', async (t) => {
  t.equal(toHex(withCrc(hex('01040443663334'))), '010404436633341b38');
  t.ok(crcValid(hex('010404436633341b38')));
});

t.test('the textbook exception frame 01 83 02 carries CRC C0 F1', async (t) => {
  t.equal(toHex(withCrc(hex('018302'))), '018302c0f1');
});

t.test('crcValid rejects every single-bit flip and every truncation', async (t) => {
  const frame = withCrc(hex('0103200000080'.padEnd(12, '0')));
  t.ok(crcValid(frame));
  let rejected = 0;
  for (let i = 0; i < frame.length * 8; i++) {
    const bad = frame.slice();
    bad[i >> 3]! ^= 1 << (i & 7);
    if (!crcValid(bad)) rejected++;
  }
  t.equal(rejected, frame.length * 8);
  t.notOk(crcValid(frame.subarray(0, frame.length - 1)));
  t.notOk(crcValid(hex('0103')), 'too short to carry a CRC');
});

t.test('crcValid honours start and end inside a larger buffer', async (t) => {
  const frame = withCrc(hex('01030000000a'));
  const buf = new Uint8Array([0xaa, 0xbb, ...frame, 0xcc]);
  t.ok(crcValid(buf, 2, 2 + frame.length));
  t.notOk(crcValid(buf, 1, 1 + frame.length));
});
