// Fuzzing the DLMS simulator's server-side parsers (issue 8 item 2): HDLC parseFrame and the FrameReader
// (IEC 62056-46 §6.4), SNRM parameters (§6.4.4.4.3.2), AARQ (IEC 62056-5-3 §8 ACSE), GET/ACTION requests,
// A-XDR Data and date-time — on random bytes and on mutations of valid requests (the GET of the Gurux
// capture in device/test-vectors/dlms/). A value or a SimulatorError with a string code; the FrameReader never
// throws and never holds more than 4 KiB.
import t from 'tap';
import fc from 'fast-check';
import { chunked, fuzzParams, mutateBytes, valueOrTyped } from '@meterseal/protocol';
import { SimulatorError } from '../errors.js';
import { parseAarq, parseRequest } from './apdu.js';
import { dateTimeMs, decodeVal } from './axdr.js';
import { clientWire, encodeFrame, FrameReader, parseFrame, parseSnrmParameters, serverWire } from './hdlc.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
// From the Gurux capture (device/test-vectors/dlms/hdlc_sessions_captured.json): AARQ, GET normal, GET next
const AARQ = hex('601da109060760857405080101be10040e01000000065f1f0400401e5dffff');
const GET = hex('c001c1000f0000280000ff0200');
const GET_NEXT = hex('c002c100000001');
const ACTION = hex('c301c1000f0000280000ff010109100102030405060708090a0b0c0d0e0f10');
const SNRM = hex('818014050207ee060207ee0704000000010804000000 01'.replace(/ /g, ''));
const DATA = hex('020309060100010800ff12000a1100');
const frames = [GET, AARQ, new Uint8Array(0)].map((info) => encodeFrame({ segmented: false, destination: serverWire(1, 1, 2), source: clientWire(16), control: info.length ? 0x10 : 0x93, info }));

const mutate = (seeds: Uint8Array[]) => fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.nat(255)).map(([b, o, a, v]) => mutateBytes(b, o, a, v));
const apdu = fc.oneof(fc.uint8Array({ maxLength: 200 }), mutate([AARQ, GET, GET_NEXT, ACTION, DATA]));
const typed = (f: () => unknown) => valueOrTyped(SimulatorError, f);

t.test('the seeds are valid', async (t) => {
  t.doesNotThrow(() => parseAarq(AARQ));
  for (const r of [GET, GET_NEXT, ACTION]) t.doesNotThrow(() => parseRequest(r));
  t.doesNotThrow(() => parseSnrmParameters(SNRM));
  t.doesNotThrow(() => decodeVal(DATA));
  for (const f of frames) t.doesNotThrow(() => parseFrame(f));
});

t.test('APDUs and A-XDR: parseAarq, parseRequest, decodeVal, dateTimeMs give a value or a SimulatorError', async (t) => {
  fc.assert(fc.property(apdu, (b) => typed(() => parseAarq(b)) && typed(() => parseRequest(b)) && typed(() => decodeVal(b)) && typed(() => dateTimeMs(b.subarray(0, 12)))), fuzzParams(3000));
  t.pass('typed');
});

t.test('HDLC parseFrame and parseSnrmParameters give a value or a SimulatorError', async (t) => {
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutate(frames)), (b) => typed(() => parseFrame(b))), fuzzParams(3000));
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), mutate([SNRM])), (b) => typed(() => parseSnrmParameters(b))), fuzzParams(1000));
  t.pass('typed');
});

t.test('FrameReader: any bytes, any chunking: no throw, bounded, frames behind noise found', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 80 }), mutate(frames)), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }), (parts, cuts) => {
      const reader = new FrameReader();
      for (const c of chunked(Uint8Array.from(parts.flatMap((p) => [...p])), cuts)) {
        reader.push(c);
        if ((reader as unknown as { buf: Uint8Array }).buf.length > 4096) return false;
      }
      return true;
    }),
    fuzzParams(1000),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 30 }), fc.constantFrom(...frames)), { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }), (items, cuts) => {
      const stream = Uint8Array.from(items.flatMap(([noise, f]) => [...noise.filter((x) => x !== 0x7e), ...f]));
      const reader = new FrameReader();
      const got = chunked(stream, cuts).flatMap((c) => reader.push(c));
      return got.length === items.length && got.every((g, i) => Buffer.from(encodeFrame(g)).equals(Buffer.from(items[i]![1])));
    }),
    fuzzParams(300),
  );
  t.pass('bounded and resynchronised');
});

t.test('regression (found by this fuzz test): a format-like byte after a closing flag does not hold back the frames behind it', async (t) => {
  const f = hex('7ea0170203211 0a90fc001c1000f0000280000ff0200f7d17e'.replace(/ /g, ''));
  const reader = new FrameReader();
  const got = [...f, 0xa0, ...f, ...f].flatMap((b) => reader.push(Uint8Array.of(b)));
  t.equal(got.length, 3, 'all three frames, though 0xa0 after the first closing flag announced a 128-byte frame');
  t.ok(reader.dropped >= 1, 'the false candidate was dropped');
});
