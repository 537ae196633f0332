import t from 'tap';
import fc from 'fast-check';
import { decodeAuthSummary, encodeAuthSummary, type AuthSummary } from './auth-summary.js';

const s: AuthSummary = { scope: 'meter', meterId: 'M-1', fromMs: 1000n, toMs: 2000n, failures: 5, reasons: [{ reason: 'bad-signature', count: 3 }, { reason: 'unknown-nonce', count: 2 }] };

t.test('AuthSummary is type 0x0B, round-trips, and refuses non-canonical content', async (t) => {
  const b = encodeAuthSummary(s);
  t.equal(b[0], 0x0b);
  t.same(decodeAuthSummary(b), s);
  t.same(decodeAuthSummary(encodeAuthSummary({ ...s, scope: 'unregistered', meterId: '' })).scope, 'unregistered');
  t.throws(() => encodeAuthSummary({ ...s, failures: 6 }), { code: 'RANGE' }, 'counts must add up');
  t.throws(() => encodeAuthSummary({ ...s, reasons: [...s.reasons].reverse() }), { code: 'NOT_CANONICAL' });
  t.throws(() => encodeAuthSummary({ ...s, scope: 'unregistered' }), { code: 'BAD_SCOPE' });
  t.throws(() => decodeAuthSummary(new Uint8Array([...b, 0])), { code: 'TRAILING_BYTES' });
});

t.test('hostile bytes: typed errors only', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
    try {
      decodeAuthSummary(new Uint8Array([0x0b, 1, ...bytes]));
    } catch (err) {
      if (typeof (err as { code?: unknown }).code !== 'string') throw err;
    }
  }), { numRuns: 2000 });
  t.pass('2000 random records decoded or refused with a code');
});
