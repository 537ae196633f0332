import t from 'tap';
import { AirgapError } from './errors.js';
import { parseRequest } from './protocol.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function refusal(line: string | Uint8Array): AirgapError {
  try {
    parseRequest(typeof line === 'string' ? enc(line) : line);
  } catch (err) {
    if (err instanceof AirgapError) return err;
    throw err;
  }
  throw new Error(`accepted ${String(line)}`);
}

t.test('parses the three requests', async (t) => {
  t.same(parseRequest(enc('{"op":"open","reason":"monthly reconciliation","maxMs":5000}')), {
    op: 'open',
    reason: 'monthly reconciliation',
    maxMs: 5000,
  });
  t.same(parseRequest(enc('{"op":"open","reason":"r"}')), { op: 'open', reason: 'r' });
  t.same(parseRequest(enc('{"op":"close"}')), { op: 'close' });
  t.same(parseRequest(enc(' {"op":"status"} ')), { op: 'status' });
});

t.test('names what is wrong with malformed lines', async (t) => {
  const cases: [string | Uint8Array, string, RegExp][] = [
    ['garbage', 'INVALID_JSON', /not valid JSON/],
    ['{"op":"open"', 'INVALID_JSON', /not valid JSON/],
    [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'INVALID_JSON', /UTF-8/],
    ['[1,2]', 'INVALID_REQUEST', /JSON object/],
    ['null', 'INVALID_REQUEST', /JSON object/],
    ['"open"', 'INVALID_REQUEST', /JSON object/],
    ['{}', 'INVALID_REQUEST', /no "op"/],
    ['{"op":7}', 'INVALID_REQUEST', /"op" must be a string/],
    ['{"op":"fly"}', 'UNKNOWN_OP', /unknown op "fly"; expected one of open, close, status/],
    ['{"op":"open"}', 'INVALID_REQUEST', /invalid "open" request: reason/],
    ['{"op":"open","reason":""}', 'INVALID_REQUEST', /reason/],
    ['{"op":"open","reason":"   "}', 'INVALID_REQUEST', /reason: must not be blank/],
    [`{"op":"open","reason":"${'x'.repeat(201)}"}`, 'INVALID_REQUEST', /reason/],
    ['{"op":"open","reason":"a\\u0007b"}', 'INVALID_REQUEST', /control characters/],
    ['{"op":"open","reason":"r","maxMs":1.5}', 'INVALID_REQUEST', /maxMs/],
    ['{"op":"open","reason":"r","maxMs":0}', 'INVALID_REQUEST', /maxMs/],
    ['{"op":"open","reason":"r","maxMs":"10"}', 'INVALID_REQUEST', /maxMs/],
    ['{"op":"close","force":true}', 'INVALID_REQUEST', /force/],
    ['{"op":"status","__proto__":{"x":1}}', 'INVALID_REQUEST', /__proto__/],
  ];
  for (const [line, code, message] of cases) {
    const err = refusal(line);
    t.equal(err.code, code, `${String(line)} → ${code}`);
    t.match(err.message, message, `${String(line)} message names the problem`);
  }
});

t.test('accepts a reason of exactly 200 characters; messages quoting input stay short', async (t) => {
  t.same(parseRequest(enc(`{"op":"open","reason":"${'x'.repeat(200)}"}`)), { op: 'open', reason: 'x'.repeat(200) });
  const err = refusal(`{"op":"${'z'.repeat(3000)}"}`);
  t.equal(err.code, 'UNKNOWN_OP');
  t.ok(err.message.length < 120, 'the unknown op is cut, not echoed in full');
  const keys = Array.from({ length: 400 }, (_, i) => `"key${i}":1,`).join('');
  const many = refusal(`{${keys}"op":"close"}`);
  t.equal(many.code, 'INVALID_REQUEST');
  t.match(many.message, /key0/);
  t.equal(many.message.length, 300, 'a long list of problems is clipped to 300 characters');
});
