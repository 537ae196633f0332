// The read-only query API: parameter validation, proofs, and nothing to write.
import t from 'tap';
import { fromHex, openCheckpoint, parseVerifierKey, verifyConsistency } from '@meterseal/protocol';
import { startTestLedger } from './testing/harness.js';

const M1 = { meterId: 'M-1', customerAccount: 'A-1' };

t.test('query API', async (t) => {
  const { ledger, meter } = await startTestLedger(t, { meters: [M1], config: { maxRangePerRequest: 100 } });
  const vkey = parseVerifierKey(ledger.verifierKey);
  const get = async (path: string) => {
    const r = await fetch(`${ledger.httpUrl}${path}`);
    return { status: r.status, type: r.headers.get('content-type') ?? '', body: (await r.text()) };
  };
  const json = async (path: string) => {
    const r = await get(path);
    return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> & { error?: { code: string; message: string } } };
  };

  t.match(await json('/healthz'), { status: 200, body: { ok: true, treeSize: '0' } });
  const empty = await get('/checkpoint');
  t.match(empty.type, /^text\/plain/);
  t.equal(openCheckpoint(empty.body, vkey, ledger.origin).size, 0n, 'a signed checkpoint exists from the start');

  const m = await meter(M1);
  await m.onboard(1n);
  const cp1 = openCheckpoint(await ledger.checkpointNow(), vkey);
  for (let s = 1n; s <= 5n; s++) await m.anchor(s);
  const cp2 = openCheckpoint(await ledger.checkpointNow(), vkey);
  t.equal(cp2.size, cp1.size + 5n);

  const c = await json(`/v1/proof/consistency?from=${cp1.size}&to=${cp2.size}`);
  t.equal(c.status, 200);
  const proof = (c.body.proof as string[]).map((h) => fromHex(h, 32));
  t.ok(verifyConsistency(cp1.size, cp2.size, proof, cp1.root, cp2.root), 'RFC 9162 consistency proof verifies between signed checkpoints');

  const meters = await json('/v1/meters');
  t.same(meters.body.meters, [{ meterId: 'M-1', registeredAt: (meters.body.meters as Array<{ registeredAt: string }>)[0]!.registeredAt, bindings: 1 }]);
  t.match((meters.body.meters as Array<{ registeredAt: string }>)[0]!.registeredAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.match(await json('/v1/anchors?meter=M-1&from=2&to=3'), { status: 200, body: { anchors: [{ seq: '2' }, { seq: '3' }] } });
  t.match(await json('/v1/anchors?meter=NOBODY&from=0&to=3'), { status: 200, body: { anchors: [] } });
  t.match(await json('/v1/stats'), { status: 200, body: { anchored: 5, registrations: 1, bindings: 1, authPassed: 1 } });

  const bad: Array<[string, RegExp]> = [
    ['/v1/anchors?from=0&to=1', /'meter' is required/],
    ['/v1/anchors?meter=a/b&from=0&to=1', /'meter' must be a meter id/],
    ['/v1/anchors?meter=M-1&from=-1&to=1', /'from' must be a decimal integer/],
    ['/v1/anchors?meter=M-1&from=01&to=1', /'from' must be a decimal integer/],
    ['/v1/anchors?meter=M-1&from=0&to=18446744073709551616', /'to' must be a decimal integer from 0 to 18446744073709551615/],
    ['/v1/anchors?meter=M-1&from=5&to=1', /'to' \(1\) must not be less than 'from' \(5\)/],
    ['/v1/anchors?meter=M-1&from=0&to=101', /at most 100 \(maxRangePerRequest\)/],
    ['/v1/anchors?meter=M-1&from=0&to=1&from=2', /'from' must be a decimal integer/],
    ['/v1/anchors?meter=M-1&from=0&to=1&limit=5', /unknown query parameter 'limit'/],
    ['/v1/proof/inclusion?index=0', /'size' is required/],
    ['/v1/proof/inclusion?index=0&size=0', /'size' must be from 1 to the tree size/],
    ['/v1/proof/inclusion?index=0&size=999', /'size' must be from 1 to the tree size/],
    ['/v1/proof/inclusion?index=3&size=3', /'index' must be less than 'size'/],
    ['/v1/proof/inclusion?index=x&size=3', /'index' must be a decimal integer/],
    ['/v1/proof/consistency?from=0&to=3', /'from' must be from 1/],
    ['/v1/proof/consistency?from=4&to=3', /'from' must be from 1 to 'to'/],
    ['/v1/proof/consistency?from=1&to=999', /'to' must be at most the tree size/],
    ['/v1/meters?x=1', /unknown query parameter 'x'/],
  ];
  for (const [path, message] of bad) {
    const r = await json(path);
    t.equal(r.status, 400, path);
    t.match(r.body.error, { code: 'BAD_PARAMETER', message }, path);
  }
  t.match(await json('/v1/proof/consistency?from=3&to=3'), { status: 200, body: { proof: [] } });

  for (const method of ['POST', 'PUT', 'DELETE']) {
    const r = await fetch(`${ledger.httpUrl}/v1/anchors`, { method, body: method === 'DELETE' ? null : '{}' });
    t.equal(r.status, 404, `no ${method} route`);
  }
  t.equal((await get('/nope')).status, 404);
});
