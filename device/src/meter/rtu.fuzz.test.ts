// Fuzzing the agent's Modbus RTU side (issue 8 item 2): parseReadResponse (Modbus Application Protocol
// V1.1b3 §6.3/§6.4/§7, CRC per Modbus over Serial Line V1.02 §2.5.1.2) and the RtuResponseFramer that
// reassembles answers from arbitrary serial chunks. Answers give register bytes or a MeterReadError with a
// string code; the framer never throws, never buffers more than its 512-byte cap, and still delivers the
// real answer behind line noise.
import t from 'tap';
import fc from 'fast-check';
import { chunked, fuzzParams, mutateBytes, valueOrTyped } from '@meterseal/protocol';
import { MeterReadError } from './errors.js';
import { encodeReadRequest, parseReadResponse } from './bus.js';
import { crc16, RtuResponseFramer } from './serial-port.js';

function withCrc(body: number[]): Uint8Array {
  const b = Uint8Array.from([...body, 0, 0]);
  const crc = crc16(b, 0, body.length);
  b[body.length] = crc & 0xff; // §2.5.1.2: low byte first
  b[body.length + 1] = crc >>> 8;
  return b;
}
const answer = (unit: number, fc: number, regs: number[]): Uint8Array => withCrc([unit, fc, regs.length * 2, ...regs.flatMap((r) => [r >> 8, r & 0xff])]);
const seeds = [answer(1, 3, [0x1234, 0x5678]), answer(7, 4, [1, 2, 3, 4, 5, 6]), withCrc([1, 0x83, 2])];
const mutatedValid = fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.nat(255)).map(([b, o, a, v]) => mutateBytes(b, o, a, v));
// a mutation with the CRC recomputed: only the structure checks can catch it
const mutatedCrc = mutatedValid.filter((b) => b.length >= 3).map((b) => withCrc([...b.subarray(0, b.length - 2)]));

t.test('parseReadResponse: register bytes or a MeterReadError', async (t) => {
  t.equal(parseReadResponse(seeds[0]!, 1, 3, 2).length, 4, 'the seed answer parses');
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 270 }), mutatedValid, mutatedCrc), fc.constantFrom(1, 7), fc.constantFrom<3 | 4>(3, 4), fc.integer({ min: 1, max: 125 }), (b, unit, fcode, qty) =>
      valueOrTyped(MeterReadError, () => parseReadResponse(b, unit, fcode, qty)),
    ),
    fuzzParams(3000),
  );
  t.pass('typed');
});

t.test('RtuResponseFramer: any bytes in any chunking never throw and stay within 512 bytes', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1500 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 125 }), (stream, cuts, qty) => {
      const framer = new RtuResponseFramer();
      framer.expect(encodeReadRequest(stream[0] ?? 1, 3, 0, qty));
      for (const c of chunked(stream, cuts)) {
        for (const frame of framer.push(c)) if (frame.length !== 5 + 2 * qty && frame.length !== 5) return false;
        if (framer.buffered > 512) return false;
      }
      return true;
    }),
    fuzzParams(1000),
  );
  t.pass('bounded');
});

t.test('RtuResponseFramer: the answer behind noise (without the unit byte) is delivered whole', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(0xffff), { minLength: 1, maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }), (noise, regs, cuts) => {
      const unit = 17;
      const real = answer(unit, 4, regs);
      const framer = new RtuResponseFramer();
      framer.expect(encodeReadRequest(unit, 4, 0, regs.length));
      const got = chunked(Uint8Array.from([...noise.filter((x) => x !== unit), ...real]), cuts).flatMap((c) => framer.push(c));
      return got.length === 1 && Buffer.from(got[0]!).equals(Buffer.from(real)) && Buffer.from(parseReadResponse(got[0]!, unit, 4, regs.length)).equals(Buffer.from(real.subarray(3, real.length - 2)));
    }),
    fuzzParams(500),
  );
  t.pass('resynchronised');
});
