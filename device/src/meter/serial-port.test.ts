import t from 'tap';
import { RtuResponseFramer } from './serial-port.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// Request: read 2 holding registers at 0x2000 from unit 1; answer 230.2 V (CRC 1B 38 from a real DDSU666, via FC 04).
const REQ3 = hex('01 03 2000 0002 cf cb');
const REQ4 = hex('01 04 2000 0002 7a 0b');
const ANSWER4 = hex('01 04 04 43663334 1b38');

function framer(req: Uint8Array): RtuResponseFramer {
  const f = new RtuResponseFramer();
  f.expect(req);
  return f;
}

t.test('an answer arriving in fragments is delivered once, whole', async (t) => {
  const f = framer(REQ4);
  const out = [...f.push(ANSWER4.subarray(0, 2)), ...f.push(ANSWER4.subarray(2, 6)), ...f.push(ANSWER4.subarray(6))];
  t.same(out.map(toHex), [toHex(ANSWER4)]);
});

t.test('line noise before the answer is skipped', async (t) => {
  t.same(framer(REQ4).push(Uint8Array.from([0x00, 0xff, 0x01, ...ANSWER4])).map(toHex), [toHex(ANSWER4)]);
});

t.test('an exception answer (function | 0x80) is 5 bytes', async (t) => {
  t.same(framer(REQ3).push(hex('018302c0f1 0000')).map(toHex), ['018302c0f1']);
});

t.test('a CRC-valid answer wins over an earlier corrupt look-alike', async (t) => {
  const corrupt = ANSWER4.slice();
  corrupt[4]! ^= 0x10;
  t.same(framer(REQ4).push(Uint8Array.from([...corrupt, ...ANSWER4])).map(toHex), [toHex(ANSWER4)]);
});

t.test('when only a corrupt answer came, it is handed over so the client reports a CRC error', async (t) => {
  const corrupt = ANSWER4.slice();
  corrupt[8]! ^= 0x01;
  t.same(framer(REQ4).push(corrupt).map(toHex), [toHex(corrupt)]);
});

t.test('answers for another unit or function are not taken, and one request gets one answer', async (t) => {
  const f = framer(REQ4);
  t.same(f.push(hex('02 04 04 43663334 0000')), [], 'other unit');
  t.same(f.push(hex('01 03 04 43663334 0000')), [], 'other function');
  t.same(f.push(ANSWER4).map(toHex), [toHex(ANSWER4)]);
  t.same(f.push(ANSWER4), [], 'a second copy is stale');
});
