// The tlog-tiles API of a real ledger over HTTP: a client that knows only the verifier key proves every
// anchor's inclusion and the consistency of two checkpoints from GET /checkpoint and tiles alone.
import t from 'tap';
import { request } from 'node:http';
import {
  consistencyProof, entryBundlePath, inclusionProof, leafHash, loadTiles, openCheckpoint, parseEntryBundle, parseVerifierKey,
  tileForNode, tilesNeededForConsistency, tilesNeededForInclusion, toHex, verifyConsistency, verifyInclusion, type Checkpoint,
} from '@meterseal/protocol';
import { startTestLedger } from './testing/harness.js';
import { FULL_TILE_CACHE_CONTROL, PARTIAL_TILE_CACHE_CONTROL } from './tiles.js';

const M1 = { meterId: 'M-1', customerAccount: 'A-1' };

interface Raw { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** GET or HEAD of an exact request path (no client-side URL normalisation, unlike fetch). */
function raw(base: string, path: string, method = 'GET'): Promise<Raw> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('tlog-tiles over HTTP', async (t) => {
  const { ledger, meter } = await startTestLedger(t, { meters: [M1] });
  const vkey = parseVerifierKey(ledger.verifierKey);
  const base = ledger.httpUrl;

  // The client: the signed checkpoint, and tiles fetched once each by path.
  let fetches = 0;
  const cache = new Map<string, Promise<Uint8Array>>();
  const fetchTile = (path: string): Promise<Uint8Array> => {
    let p = cache.get(path);
    if (!p) {
      fetches++;
      p = raw(base, `/${path}`).then((r) => {
        if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status} ${r.body.toString()}`);
        return new Uint8Array(r.body);
      });
      cache.set(path, p);
    }
    return p;
  };
  const checkpoint = async (): Promise<Checkpoint> => {
    await ledger.checkpointNow();
    const r = await raw(base, '/checkpoint');
    t.match(r.headers['content-type'], /^text\/plain; charset=utf-8/);
    return openCheckpoint(r.body.toString('utf8'), vkey, ledger.origin);
  };
  /** The entry at `index` of the tree `cp`, from its entry bundle. */
  const entryAt = async (index: bigint, cp: Checkpoint): Promise<Uint8Array> => {
    const c = tileForNode(0, index, cp.size);
    return parseEntryBundle(await fetchTile(entryBundlePath(c.index, c.width)), c.width)[Number(index % 256n)]!;
  };
  const proveInclusion = async (index: bigint, entry: Uint8Array, cp: Checkpoint): Promise<boolean> => {
    const reader = await loadTiles(tilesNeededForInclusion(index, cp.size), fetchTile);
    return verifyInclusion(leafHash(entry), index, cp.size, inclusionProof(reader, index, cp.size), cp.root);
  };
  const proveConsistency = async (a: Checkpoint, b: Checkpoint): Promise<boolean> => {
    const reader = await loadTiles(tilesNeededForConsistency(a.size, b.size), fetchTile);
    return verifyConsistency(a.size, b.size, consistencyProof(reader, a.size, b.size), a.root, b.root);
  };

  const m = await meter(M1);
  await m.onboard(1n);
  const cp0 = await checkpoint();
  t.equal(cp0.size, 3n, 'registration, authentication, binding');

  const anchors: Array<{ leafIndex: bigint; signed: Uint8Array }> = [];
  let cp1: Checkpoint | undefined;
  for (let seq = 1; seq <= 300; seq += 50) {
    const batch = await Promise.all(Array.from({ length: 50 }, (_, i) => m.anchor(BigInt(seq + i))));
    for (const { response, signed } of batch) {
      t.equal(response.ok, true);
      anchors.push({ leafIndex: BigInt(response.leafIndex as string), signed });
    }
    if (seq === 101) cp1 = await checkpoint();
  }
  const cp2 = await checkpoint();
  t.equal(cp1!.size, 153n);
  t.equal(cp2.size, 303n);

  // Against the older checkpoint first: its partial tiles (0/000.p/153, 1/000 has none) are still served.
  let failed = 0;
  for (const a of anchors.filter((a) => a.leafIndex < cp1!.size)) {
    const entry = await entryAt(a.leafIndex, cp1!);
    if (toHex(entry) !== toHex(a.signed) || !(await proveInclusion(a.leafIndex, entry, cp1!))) failed++;
  }
  t.equal(failed, 0, 'every anchor in checkpoint 1 is included, proven from its tiles');
  t.ok(cache.has('tile/0/000.p/153') && cache.has('tile/entries/000.p/153'), "checkpoint 1's partial tiles");

  for (const a of anchors) {
    const entry = await entryAt(a.leafIndex, cp2);
    if (toHex(entry) !== toHex(a.signed) || !(await proveInclusion(a.leafIndex, entry, cp2))) failed++;
  }
  t.equal(failed, 0, `all ${anchors.length} anchors are included in checkpoint 2, proven from tiles`);
  t.ok(await proveConsistency(cp1!, cp2), 'checkpoint 1 → checkpoint 2 is consistent, proven from tiles');
  t.ok(await proveConsistency(cp0, cp2), 'checkpoint 0 → checkpoint 2');
  t.ok(await proveConsistency(cp0, cp1!), 'checkpoint 0 → checkpoint 1 (older partial tiles)');
  t.notOk(await proveInclusion(anchors[0]!.leafIndex, anchors[1]!.signed, cp2), 'another entry at that index does not verify');
  t.ok(fetches < 20, `${fetches} tile fetches in all`);

  const full = await raw(base, '/tile/0/000');
  t.equal(full.status, 200);
  t.equal(full.body.length, 8192);
  t.equal(full.headers['content-type'], 'application/octet-stream');
  t.equal(full.headers['cache-control'], FULL_TILE_CACHE_CONTROL);
  t.match(await raw(base, '/tile/entries/000'), { status: 200, headers: { 'cache-control': FULL_TILE_CACHE_CONTROL } });
  const partial = await raw(base, '/tile/0/001.p/47');
  t.match(partial, { status: 200, headers: { 'cache-control': PARTIAL_TILE_CACHE_CONTROL, 'content-type': 'application/octet-stream' } });
  t.equal(partial.body.length, 47 * 32);
  t.match(await raw(base, '/tile/1/000.p/1'), { status: 200 });
  t.match(await raw(base, '/tile/0/000', 'HEAD'), { status: 200, headers: { 'content-length': '8192' } });
  const cpHeaders = (await raw(base, '/checkpoint')).headers;
  t.not(cpHeaders['cache-control'], FULL_TILE_CACHE_CONTROL, '/checkpoint is not cached like a tile');

  const notFound = ['/tile/0/001', '/tile/0/001.p/48', '/tile/0/002.p/1', '/tile/1/000.p/2', '/tile/1/000', '/tile/2/000.p/1',
    '/tile/entries/001', '/tile/entries/001.p/48', '/tile/entries/002.p/1', '/tile/7/000.p/1', '/tile/63/x018/x446/x744/x073/x709/x551/615.p/255'];
  for (const p of notFound) {
    const r = await raw(base, p);
    t.equal(r.status, 404, p);
    t.equal(r.headers['cache-control'], 'no-store', `${p}: a 404 is not cached`);
    t.match(JSON.parse(r.body.toString()), { error: { code: 'NOT_FOUND', message: /is not in the log \(tree size 303\)/ } }, p);
  }

  const hostile = ['/tile/00/000', '/tile/01/000', '/tile/64/000', '/tile/0/01', '/tile/0/0001', '/tile/0/x000/001', '/tile/0/001/002',
    '/tile/0/x001', '/tile/0/000.p/0', '/tile/0/000.p/256', '/tile/0/000.p/01', '/tile/0/000.p', '/tile/0/000.p/5/6', '/tile/0//000',
    '/tile/0/%30%30%30', '/tile/0/000?x=1', '/tile/0/../../checkpoint', '/tile/entries/000.p/256', '/tile/entries/00', '/tile/x/000',
    '/tile/0/x018/x446/x744/x073/x709/x551/616', '/tile/0/000/', `/tile/0/${'x001/'.repeat(12)}001`];
  for (const p of hostile) {
    const r = await raw(base, p);
    t.equal(r.status, 400, p);
    t.match(JSON.parse(r.body.toString()), { error: { code: 'BAD_TILE_PATH', message: /\S/ } }, p);
  }
  const long = await raw(base, `/tile/0/${'x001/'.repeat(2000)}001`);
  t.equal(long.status, 400, 'a 10 kB path is refused');
  t.match(await raw(base, '/tile'), { status: 404 });
  t.match(await raw(base, '/healthz'), { status: 200 }, 'the server is unharmed');
});
