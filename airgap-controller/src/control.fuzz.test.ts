// Fuzzing the air-gap controller's inputs (issue 8 item 2): the control-line framer and request parser
// (README §Control protocol), and the HTTP relay's request-head framer, parser and allowlist check
// (RFC 9112 §2.2, §3, §5). A value or an AirgapError with a string code, nothing else; the framers never
// hold more than their limits, whatever the chunking.
import t from 'tap';
import fc from 'fast-check';
import { chunked, fuzzParams, mutateBytes, valueOrTyped } from '@meterseal/protocol';
import { AirgapError } from './errors.js';
import { LineFramer } from './framer.js';
import { parseRequest } from './protocol.js';
import { checkRequest, DEFAULT_HTTP_ALLOWLIST, MAX_HEAD_BYTES, parseRequestHead, RequestHeadFramer } from './drivers/http-filter.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const typed = (f: () => unknown) => valueOrTyped(AirgapError, f);
const mutate = (seeds: Uint8Array[]) => fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.nat(255)).map(([b, o, a, v]) => mutateBytes(b, o, a, v));

const CONTROL = ['{"op":"open","maxMs":60000,"reason":"upload"}', '{"op":"close"}', '{"op":"status"}', '{"op":"open","reason":"x","operator":"ops-1","maxMs":-1}'].map(enc);
const json = fc.jsonValue({ maxDepth: 3 }).map((v) => enc(JSON.stringify(v)));
const withOp = fc.tuple(fc.constantFrom('open', 'close', 'status', 'OPEN', ''), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })).map(([op, rest]) => enc(JSON.stringify({ ...rest, op })));

t.test('control requests: parseRequest gives a request or an AirgapError', async (t) => {
  t.doesNotThrow(() => parseRequest(CONTROL[0]!), 'the seed request parses');
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), json, withOp, mutate(CONTROL)), (b) => typed(() => parseRequest(b))), fuzzParams(3000));
  t.pass('typed');
});

t.test('control LineFramer: lines only up to the limit, then LINE_TOO_LONG; never more held than the limit', async (t) => {
  const max = 64;
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.constant(enc('\r\n')), fc.constant(enc('\n'))), { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 6 }), (parts, cuts) => {
      const framer = new LineFramer(max);
      for (const c of chunked(Uint8Array.from(parts.flatMap((p) => [...p])), cuts)) {
        const r = framer.push(c);
        if (r.lines.some((l) => l.length > max)) return false;
        if (r.error && !(r.error instanceof AirgapError && r.error.code === 'LINE_TOO_LONG')) return false;
        if (framer.pendingBytes > max + 1) return false;
      }
      return true;
    }),
    fuzzParams(1000),
  );
  t.pass('bounded');
});

const HEADS = ['GET /checkpoint HTTP/1.1\r\nHost: ledger\r\n', 'GET /tile/0/000?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n', 'POST /add HTTP/1.0\r\nX: y\r\n'].map(enc);
const head = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.string({ maxLength: 200 }).map(enc),
  fc.tuple(fc.constantFrom('GET', 'POST', 'G T', ''), fc.string({ maxLength: 60 }), fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2'), fc.array(fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 30 })), { maxLength: 5 }))
    .map(([m, p, v, hs]) => enc(`${m} /${p} ${v}\r\n${hs.map(([n, x]) => `${n}: ${x}`).join('\r\n')}`)),
  mutate(HEADS),
);

t.test('HTTP relay: parseRequestHead and checkRequest give a value or an AirgapError', async (t) => {
  t.doesNotThrow(() => checkRequest(parseRequestHead(HEADS[0]!.subarray(0, HEADS[0]!.length - 2)), DEFAULT_HTTP_ALLOWLIST), 'the seed head is allowed');
  fc.assert(fc.property(head, (b) => typed(() => checkRequest(parseRequestHead(b), DEFAULT_HTTP_ALLOWLIST))), fuzzParams(3000));
  t.pass('typed');
});

t.test('HTTP relay: RequestHeadFramer holds at most MAX_HEAD_BYTES and throws only HTTP_TOO_LARGE', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.constant(enc('\r\n\r\n')), head), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 6 }), (parts, cuts) => {
      const framer = new RequestHeadFramer();
      try {
        for (const c of chunked(Uint8Array.from(parts.flatMap((p) => [...p])), cuts)) {
          for (const h of framer.push(c)) if (h.length > MAX_HEAD_BYTES) return false;
        }
      } catch (err) {
        return err instanceof AirgapError && err.code === 'HTTP_TOO_LARGE';
      }
      return true;
    }),
    fuzzParams(300),
  );
  t.pass('bounded');
});
