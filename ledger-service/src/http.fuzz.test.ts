// Fuzzing the ledger's HTTP parameters (issue 8 item 2) on a started ledger (127.0.0.1, port 0, SQLite in a
// temp dir, one onboarded meter with anchors): random paths and query strings on every GET route of the
// query API (/receipt, /tile/…, /v1/meter/*, /v1/index*, /v1/anchors, /v1/proof/*, /v1/meters/:id/keys,
// /v1/airgap-events) and random JSON bodies on the operator admin API. Every answer is below 500, and every
// refusal (4xx) is JSON naming an error code.
import t from 'tap';
import fc from 'fast-check';
import { fuzzParams, generateKeyPair, toHex } from '@meterseal/protocol';
import { startTestLedger } from './testing/harness.js';

const PATHS = ['/receipt', '/v1/meter/node', '/v1/meter/range', '/v1/index', '/v1/index/proof', '/v1/anchors', '/v1/proof/inclusion', '/v1/proof/consistency', '/v1/meters', '/v1/meters/M-1/keys', '/v1/airgap-events', '/v1/stats', '/checkpoint', '/tile/0/000', '/tile/entries/000', '/tile/0/x001/002.p/3', '/tile/1/000.p/1'];
const KEYS = ['meter', 'seq', 'from', 'to', 'index', 'size', 'start', 'end', 'count', 'limit', 'id', ''];
const value = fc.oneof(
  fc.constantFrom('M-1', 'M-2', '0', '1', '2', '3', '-1', '01', '18446744073709551615', '18446744073709551616', '99999999999999999999999', '1e3', '0x10', ' 1', '', '%', '%zz', '..', 'a/b'),
  fc.bigInt({ min: 0n, max: 1n << 66n }).map(String),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
);
const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 }).map(encodeURIComponent)), value), { maxLength: 5 })
  .map((kv) => (kv.length ? `?${kv.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));
const path = fc.oneof(
  fc.constantFrom(...PATHS),
  fc.tuple(fc.constantFrom('/tile/', '/tile/entries/', '/v1/meters/', '/v1/meter/', '/v1/admin/meters/'), fc.array(fc.oneof(fc.string({ maxLength: 6 }).map(encodeURIComponent), fc.constantFrom('x001', '000', '.p', '256', '..', '', '0')), { maxLength: 4 }))
    .map(([p, segs]) => p + segs.join('/')),
);

async function refusalIsJson(r: Response): Promise<boolean> {
  const text = await r.text();
  if (r.status >= 500) throw new Error(`${r.status} ${text.slice(0, 300)}`);
  if (r.status < 400) return true;
  const body = JSON.parse(text) as { error?: { code?: unknown } };
  return typeof body.error?.code === 'string' && body.error.code.length > 0;
}

t.test('query API and admin API: random parameters give < 500 and JSON refusals', async (t) => {
  const utility = generateKeyPair();
  const { ledger, meter } = await startTestLedger(t, {
    meters: [{ meterId: 'M-1', customerAccount: 'A-1' }],
    config: { admin: { port: 0, utilityPublicKeys: [toHex(utility.publicKey)] } },
  });
  const m = await meter({ meterId: 'M-1', customerAccount: 'A-1' });
  await m.onboard(1n);
  for (let s = 1n; s <= 3n; s++) await m.anchor(s);
  await ledger.checkpointNow();
  t.equal((await fetch(`${ledger.httpUrl}/v1/anchors?meter=M-1&from=1&to=3`)).status, 200, 'the seeded routes answer');

  let refused = 0;
  await fc.assert(
    fc.asyncProperty(path, query, async (p, q) => {
      const r = await fetch(`${ledger.httpUrl}${p}${q}`);
      if (r.status >= 400) refused++;
      return refusalIsJson(r);
    }),
    fuzzParams(200),
  );
  t.ok(refused > 0, `${refused} refusals, all JSON`);

  const body = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.record({
      action: fc.oneof(fc.string({ maxLength: 10 }), fc.uint8Array({ maxLength: 80 }).map((b) => toHex(b)), fc.integer()),
      csv: fc.oneof(fc.string({ maxLength: 80 }), fc.constant('meter_id,customer_account,model,site\nM-9,A-9,x,y\n')),
      timeMs: fc.oneof(fc.string({ maxLength: 17 }), fc.constant(String(Date.now()))),
      credential: fc.uint8Array({ maxLength: 80 }).map((b) => toHex(b)),
      nonce: fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => toHex(b)), fc.string({ maxLength: 40 })),
      signature: fc.oneof(fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => toHex(b)), fc.string({ maxLength: 10 })),
    }, { requiredKeys: [] }),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('revoke', 'approve-exchange', 'import-meters', 'nope'), body, fc.boolean(), async (op, b, asJson) => {
      const r = await fetch(`${ledger.adminUrl}/v1/admin/${op}`, {
        method: 'POST',
        headers: { 'content-type': asJson ? 'application/json' : 'text/plain' },
        body: asJson ? JSON.stringify(b) : String(JSON.stringify(b)).slice(0, 50),
      });
      return refusalIsJson(r);
    }),
    fuzzParams(200),
  );
  t.pass('admin refusals are JSON');
  // regression (found by this fuzz test): the admin API's unknown routes answered fastify's default 404 shape
  const nope = await fetch(`${ledger.adminUrl}/v1/admin/nope`, { method: 'POST', body: '{}' });
  t.match({ status: nope.status, body: await nope.json() }, { status: 404, body: { ok: false, error: { code: 'NOT_FOUND' } } });
});
