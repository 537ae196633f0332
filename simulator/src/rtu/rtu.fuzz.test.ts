// Fuzzing the simulator's Modbus RTU request side (issue 8 item 2): parseRequest and requestLength
// (Modbus Application Protocol V1.1b3 §6.3/§6.4/§6.6/§6.12) and the RtuRequestFramer fed arbitrary serial
// chunks. Requests give a value or a SimulatorError with a string code; the framer never throws, holds at
// most one maximal ADU (256 bytes, Modbus over Serial Line V1.02 §2.5.1) and finds real requests behind noise.
import t from 'tap';
import fc from 'fast-check';
import { chunked, fuzzParams, mutateBytes, valueOrTyped } from '@meterseal/protocol';
import { SimulatorError } from '../errors.js';
import { withCrc } from './crc.js';
import { encodeReadRequest, MAX_ADU, parseRequest, requestLength } from './frame.js';
import { RtuRequestFramer } from './framer.js';

const seeds = [
  encodeReadRequest(1, 3, 0, 10),
  encodeReadRequest(247, 4, 0x1000, 125),
  withCrc(Uint8Array.of(1, 6, 0, 5, 0x12, 0x34)),
  withCrc(Uint8Array.of(1, 16, 0, 5, 0, 2, 4, 0, 1, 0, 2)),
];
const mutated = fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.nat(255)).map(([b, o, a, v]) => mutateBytes(b, o, a, v));
const mutatedCrc = mutated.filter((b) => b.length > 2).map((b) => withCrc(b.subarray(0, b.length - 2)));

t.test('parseRequest and requestLength: a value or a SimulatorError', async (t) => {
  for (const s of seeds) t.doesNotThrow(() => parseRequest(s), 'seed parses');
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated, mutatedCrc), (b) => valueOrTyped(SimulatorError, () => parseRequest(b)) && valueOrTyped(SimulatorError, () => requestLength(b))),
    fuzzParams(3000),
  );
  t.pass('typed');
});

t.test('RtuRequestFramer: any bytes, any chunking: no throw, at most one ADU plus a chunk held', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 100 }), mutated, mutatedCrc), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }), (parts, cuts) => {
      const framer = new RtuRequestFramer();
      for (const c of chunked(Uint8Array.from(parts.flatMap((p) => [...p])), cuts)) {
        for (const f of framer.push(c)) if (f.length > MAX_ADU) return false;
        if (framer.buffered > MAX_ADU + c.length) return false;
      }
      return true;
    }),
    fuzzParams(1000),
  );
  t.pass('bounded');
});

t.test('RtuRequestFramer: a request behind noise is found whatever the chunking', async (t) => {
  fc.assert(
    fc.property(fc.constantFrom(...seeds), fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 6 }), fc.nat(20), (req, cuts, n) => {
      // noise of one repeated unsupported-function byte pair cannot hide a frame: each is dropped in turn
      const noise = Array.from({ length: n }, () => 0x55);
      const framer = new RtuRequestFramer();
      const got = chunked(Uint8Array.from([...noise, ...req]), cuts).flatMap((c) => framer.push(c));
      return got.some((g) => Buffer.from(g).equals(Buffer.from(req)));
    }),
    fuzzParams(300),
  );
  t.pass('found');
});
