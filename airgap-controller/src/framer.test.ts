import t from 'tap';
import { LineFramer, MAX_LINE_BYTES } from './framer.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (lines: Uint8Array[]): string[] => lines.map((l) => new TextDecoder().decode(l));

t.test('frames lines across chunk boundaries and strips CRLF', async (t) => {
  const framer = new LineFramer();
  t.same(dec(framer.push(enc('{"op":"sta')).lines), []);
  t.equal(framer.pendingBytes, 10);
  const { lines, error } = framer.push(enc('tus"}\r\n\nnext\npart'));
  t.same(dec(lines), ['{"op":"status"}', '', 'next']);
  t.equal(error, undefined);
  t.same(dec(framer.push(enc('ial\n')).lines), ['partial']);
  t.equal(framer.pendingBytes, 0);
});

t.test('a line of exactly the limit passes; one byte more is LINE_TOO_LONG', async (t) => {
  t.equal(MAX_LINE_BYTES, 4096);
  const ok = new LineFramer().push(enc(`${'a'.repeat(4096)}\r\n`));
  t.equal(ok.error, undefined);
  t.equal(ok.lines[0]?.length, 4096);
  const tooLong = new LineFramer().push(enc(`first\n${'a'.repeat(4097)}\nafter\n`));
  t.same(dec(tooLong.lines), ['first'], 'lines before the long one survive, nothing after it');
  t.equal(tooLong.error?.code, 'LINE_TOO_LONG');
});

t.test('an unfinished line is refused as soon as it passes the limit, and the framer stays poisoned', async (t) => {
  const framer = new LineFramer();
  t.equal(framer.push(enc('a'.repeat(4096))).error, undefined);
  t.equal(framer.push(enc('\r')).error, undefined, 'a CR may still be the end of a CRLF');
  t.equal(framer.pendingBytes, 4097);
  const over = framer.push(enc('b'));
  t.equal(over.error?.code, 'LINE_TOO_LONG');
  t.equal(framer.pendingBytes, 0, 'nothing is kept once poisoned');
  const later = framer.push(enc('{"op":"status"}\n'));
  t.same(later.lines, []);
  t.equal(later.error?.code, 'LINE_TOO_LONG');
});

t.test('a 10 KB chunk with no newline is refused without being buffered', async (t) => {
  const framer = new LineFramer();
  const { lines, error } = framer.push(new Uint8Array(10 * 1024).fill(0x41));
  t.same(lines, []);
  t.equal(error?.code, 'LINE_TOO_LONG');
  t.match(error?.message, /4096 bytes/);
  t.equal(framer.pendingBytes, 0);
});
