import t from 'tap';
import fc from 'fast-check';
import { fcs16, fcsOk, putFcs } from './fcs.js';
import { allFrames, hex } from './fixtures.js';

t.test('CRC-16/X-25 check value: "123456789" gives 0x906E', async (t) => {
  t.equal(fcs16(new TextEncoder().encode('123456789')), 0x906e);
  t.equal(fcs16(new Uint8Array(0)), 0x0000, 'init 0xFFFF xor-out 0xFFFF: the empty message gives 0');
});

t.test('every captured frame carries a matching FCS (low byte first) and, with information, a matching HCS', async (t) => {
  for (const { bytes, fcsOk: expected } of allFrames) {
    const end = bytes.length - 1; // closing flag
    t.equal(fcsOk(bytes, 1, end - 2), expected, `FCS of ${Buffer.from(bytes).toString('hex').slice(0, 24)}…`);
    const length = ((bytes[1]! & 7) << 8) | bytes[2]!;
    const header = 2 + 1 + 1 + 1; // all captured addresses are one byte
    if (length > header + 2) t.ok(fcsOk(bytes, 1, 1 + header), 'HCS over format, addresses, control');
  }
  t.ok(allFrames.length > 100, `${allFrames.length} frames checked`);
});

t.test('the SNRM of the captures: 7E A0 07 03 21 93 | 0F 01 | 7E', async (t) => {
  const snrm = hex('7ea0070321930f017e');
  t.equal(fcs16(snrm, 1, 6), 0x010f, 'transmitted as 0F 01');
});

t.test('putFcs then fcsOk round-trips, and any single-bit error is detected', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (body, flip) => {
      const b = new Uint8Array(body.length + 2);
      b.set(body);
      putFcs(b, 0, body.length);
      if (!fcsOk(b, 0, body.length)) return false;
      const bit = flip % (b.length * 8);
      b[bit >> 3]! ^= 1 << (bit & 7);
      return !fcsOk(b, 0, body.length);
    }),
  );
});

t.test('fcsOk is false when the check sequence would lie past the end', async (t) => {
  t.notOk(fcsOk(Uint8Array.of(1, 2, 3), 0, 2));
});
