import t from 'tap';
import { withCrc } from './crc.js';
import { encodeReadRequest } from './frame.js';
import { RtuRequestFramer } from './framer.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

const A = encodeReadRequest(1, 3, 0x2000, 8);
const B = encodeReadRequest(1, 4, 0x4000, 2);
const W16 = withCrc(hex('01 10 0001 0002 04 000a 0102'));

t.test('a frame fed one byte at a time comes out once, whole', async (t) => {
  const f = new RtuRequestFramer();
  const out: Uint8Array[] = [];
  for (const b of W16) out.push(...f.push(Uint8Array.of(b)));
  t.same(out.map(toHex), [toHex(W16)]);
  t.equal(f.buffered, 0);
});

t.test('back-to-back frames in one chunk are split by their lengths', async (t) => {
  const f = new RtuRequestFramer();
  t.same(f.push(cat(A, W16, B)).map(toHex), [A, W16, B].map(toHex));
});

t.test('garbage before a valid frame is skipped byte by byte and counted', async (t) => {
  const f = new RtuRequestFramer();
  const garbage = hex('ff 00 03 10 01 03 7f');
  t.same(f.push(cat(garbage, A)).map(toHex), [toHex(A)]);
  t.equal(f.discardedBytes, garbage.length);
});

t.test('garbage arriving in an earlier chunk does not swallow the next frame', async (t) => {
  const f = new RtuRequestFramer();
  t.same(f.push(hex('01 03 00')), [], 'looks like a frame start: waits');
  t.same(f.push(A).map(toHex), [toHex(A)]);
});

t.test('a corrupted CRC yields no frame, counts one CRC error, and the next frame still gets through', async (t) => {
  const f = new RtuRequestFramer();
  const bad = A.slice();
  bad[7]! ^= 0xff;
  t.same(f.push(bad), []);
  t.equal(f.crcErrors, 1);
  t.same(f.push(B).map(toHex), [toHex(B)]);
});

t.test('an unsupported function code is framed when it is all that arrived (the server answers exception 01)', async (t) => {
  const f = new RtuRequestFramer();
  const fc1 = withCrc(hex('01 01 0000 0008'));
  t.same(f.push(fc1).map(toHex), [toHex(fc1)]);
  t.same(f.push(cat(fc1.subarray(0, 5))), [], 'a partial one is garbage');
  t.same(f.push(cat(fc1.subarray(5), A)).map(toHex), [toHex(A)], 'and does not hide the next frame');
});

t.test('an FC 16 header claiming more than 256 bytes is dropped, not waited for', async (t) => {
  const f = new RtuRequestFramer();
  t.same(f.push(cat(hex('01 10 0000 007b ff'), A)).map(toHex), [toHex(A)]);
});

t.test('a megabyte of noise neither grows the buffer nor yields frames', async (t) => {
  const f = new RtuRequestFramer();
  let x = 12345;
  const noise = Uint8Array.from({ length: 1 << 20 }, () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24));
  const frames = [];
  for (let i = 0; i < noise.length; i += 4096) frames.push(...f.push(noise.subarray(i, i + 4096)));
  t.ok(frames.length <= 4, `at most a few chance CRC matches (got ${frames.length})`);
  t.ok(f.buffered <= 256, `buffer stays bounded (${f.buffered})`);
  t.same(f.push(cat(hex('00'.repeat(300)), A)).slice(-1).map(toHex), [toHex(A)], 'still resynchronises afterwards');
});
