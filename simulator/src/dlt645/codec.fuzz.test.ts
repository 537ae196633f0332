// Fuzzing the simulator's DL/T 645-2007 request side (issue 8 item 2): parseDlt645Frame (§5.2: 68H, address,
// 68H, C, L ≤ 200, data − 33H, CS, 16H), the DI reader and the Dlt645RequestFramer fed arbitrary chunks.
// A value or a SimulatorError with a string code; the framer never throws, stays within its 1 KiB buffer,
// and finds real requests behind noise.
import t from 'tap';
import fc from 'fast-check';
import { chunked, fuzzParams, mutateBytes, valueOrTyped } from '@meterseal/protocol';
import { SimulatorError } from '../errors.js';
import { dlt645AddressToWire, dlt645Checksum, dlt645DiFromData, dlt645DiToData, encodeDlt645Frame, parseDlt645Frame } from './codec.js';
import { Dlt645RequestFramer } from './framer.js';

const readReq = (address: string, di: string) => encodeDlt645Frame({ addressWire: dlt645AddressToWire(address), control: 0x11, data: dlt645DiToData(di) }, 0);
const seeds = [readReq('000000000001', '00010000'), readReq('123456789012', '04000101'), encodeDlt645Frame({ addressWire: dlt645AddressToWire('999999999999'), control: 0x08, data: Uint8Array.of(0, 0, 12, 1, 1, 26) }, 0)];
const mutated = fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.nat(255)).map(([b, o, a, v]) => mutateBytes(b, o, a, v));
// a wrong byte with the checksum fixed up: only the structure checks can catch it
const fixedCs = mutated.map((b) => {
  if (b.length < 12) return b;
  const c = Uint8Array.from(b);
  c[c.length - 2] = dlt645Checksum(c, 0, c.length - 2);
  return c;
});

t.test('parseDlt645Frame and dlt645DiFromData: a value or a SimulatorError', async (t) => {
  for (const s of seeds) t.doesNotThrow(() => parseDlt645Frame(s), 'seed parses');
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 260 }), mutated, fixedCs), (b) => valueOrTyped(SimulatorError, () => parseDlt645Frame(b)) && valueOrTyped(SimulatorError, () => dlt645DiFromData(b))),
    fuzzParams(3000),
  );
  t.pass('typed');
});

t.test('Dlt645RequestFramer: any bytes, any chunking: no throw, bounded, real frames found behind noise', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 80 }), mutated, fixedCs), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }), (parts, cuts) => {
      const framer = new Dlt645RequestFramer();
      for (const c of chunked(Uint8Array.from(parts.flatMap((p) => [...p])), cuts)) {
        framer.push(c);
        if ((framer as unknown as { buf: Uint8Array }).buf.length > 1024) return false;
      }
      return true;
    }),
    fuzzParams(1000),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 30 }), fc.constantFrom(...seeds)), { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }), (items, cuts) => {
      const stream = Uint8Array.from(items.flatMap(([noise, f]) => [...noise.filter((x) => x !== 0x68), ...f]));
      const framer = new Dlt645RequestFramer();
      const got = chunked(stream, cuts).flatMap((c) => framer.push(c));
      return got.length === items.length && got.every((g, i) => Buffer.from(encodeDlt645Frame(g, 0)).equals(Buffer.from(items[i]![1])));
    }),
    fuzzParams(300),
  );
  t.pass('bounded and resynchronised');
});

t.test('regression (found by this fuzz test): a data field shorter than a DI is a typed error, not a TypeError', async (t) => {
  t.throws(() => dlt645DiFromData(new Uint8Array(0)), { name: 'SimulatorError', code: 'DLT645_LENGTH' });
  t.throws(() => dlt645DiFromData(Uint8Array.of(1, 2, 3)), { name: 'SimulatorError', code: 'DLT645_LENGTH' });
  t.equal(dlt645DiFromData(Uint8Array.of(0x00, 0x00, 0x01, 0x00)), '00010000');
});
