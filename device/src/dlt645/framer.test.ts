import t from 'tap';
import { Dlt645Framer } from './framer.js';
import { encodeFrame, type Dlt645Frame } from './frame.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const summary = (f: Dlt645Frame): string => `${f.address}/${f.control.toString(16)}/${toHex(f.data)}`;

// Captured (device/test-vectors/dlt645): the answer 12345.67 kWh to DI 00000000, with 4 FEH in front.
const ANSWER = hex('fefefefe68123456781012689108333333339a7856340716');
const ANSWER_SUMMARY = '121078563412/91/0000000067452301';
const SECOND = encodeFrame({ address: '000012345678', control: 0x91, data: hex('00010102 0123') }, { preamble: 0 });

t.test('the FEH preamble is skipped and not counted as garbage', async (t) => {
  const f = new Dlt645Framer();
  t.same(f.push(ANSWER).map(summary), [ANSWER_SUMMARY]);
  t.equal(f.discardedBytes, 0);
  t.equal(f.buffered, 0);
});

t.test('a frame split into single bytes is delivered once, whole', async (t) => {
  const f = new Dlt645Framer();
  const out: string[] = [];
  for (const b of ANSWER) out.push(...f.push(Uint8Array.of(b)).map(summary));
  t.same(out, [ANSWER_SUMMARY]);
});

t.test('garbage before, between and after frames is skipped; two frames in one chunk both come out', async (t) => {
  const f = new Dlt645Framer();
  const noise = hex('00 ff 13 37 16');
  t.same(f.push(cat(noise, ANSWER, hex('55 aa'), SECOND, hex('0102'))).map(summary), [ANSWER_SUMMARY, '000012345678/91/000101020123']);
  t.equal(f.discardedBytes, noise.length + 2 + 2, 'the noise, not the preamble');
  t.equal(f.buffered, 0, 'bytes that cannot start a frame are not kept');
});

t.test('a bad checksum resyncs: the frame is dropped, the next one is found', async (t) => {
  const bad = ANSWER.slice();
  bad[18]! ^= 0x01; // a data byte
  const f = new Dlt645Framer();
  t.same(f.push(cat(bad, ANSWER)).map(summary), [ANSWER_SUMMARY]);
  t.equal(f.checksumErrors, 1);
});

t.test('a stray 68H inside noise does not hide a frame that follows', async (t) => {
  const f = new Dlt645Framer();
  // 68 … with L = 0x40 would need 76 bytes: an incomplete candidate, but a whole valid frame follows it.
  const stray = hex('68 01 02 03 04 05 06 68 11 40');
  t.same(f.push(cat(stray, ANSWER)).map(summary), [ANSWER_SUMMARY]);
  t.equal(f.discardedBytes, stray.length);
});

t.test('a frame that starts inside a corrupt one is found (68H bytes in the data)', async (t) => {
  const inner = encodeFrame({ address: '000000000001', control: 0x91, data: hex('00000100 00000000') }, { preamble: 0 });
  const outer = encodeFrame({ address: '000000000002', control: 0x91, data: new Uint8Array(inner.length + 4) }, { preamble: 0 });
  outer[14] = 0x00; // corrupt the outer frame's first data byte: checksum fails
  outer.set(inner, 16);
  const f = new Dlt645Framer();
  t.same(f.push(outer).map((x) => x.address), ['000000000001']);
  t.equal(f.checksumErrors, 1);
});

t.test('non-frames with a start character are malformed; L > 200 is never waited for', async (t) => {
  const f = new Dlt645Framer();
  t.same(f.push(hex('68 01 02 03 04 05 06 68 11 c9')), [], 'L = 201');
  t.equal(f.malformed, 1);
  t.same(f.push(SECOND).map(summary), ['000012345678/91/000101020123']);
  const g = new Dlt645Framer();
  const noEnd = SECOND.slice();
  noEnd[noEnd.length - 1] = 0x00;
  t.same(g.push(cat(noEnd, SECOND)).map((x) => x.control), [0x91]);
  t.equal(g.malformed, 2, 'both start characters of the broken frame were tried');
});

t.test('reset forgets a half frame; the buffer is bounded', async (t) => {
  const f = new Dlt645Framer();
  f.push(ANSWER.subarray(0, 10));
  f.reset();
  t.same(f.push(ANSWER.subarray(10)), []);
  t.same(f.push(ANSWER).map(summary), [ANSWER_SUMMARY]);
  const g = new Dlt645Framer();
  for (let i = 0; i < 20; i++) g.push(new Uint8Array(100).fill(0x68));
  t.ok(g.buffered <= 4 * 212, `buffer stays bounded (${g.buffered})`);
});
