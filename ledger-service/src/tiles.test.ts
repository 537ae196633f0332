// Tiles computed from the store: every root recomputed from served tiles alone equals the log's root, and
// tiles exist exactly when the tree has all their hashes (c2sp.org/tlog-tiles "Partial Tiles").
import t from 'tap';
import {
  MemoryTree, TileNodeReader, bytesEqual, concatBytes, leafHash, parseEntryBundle, rootAt, tilesNeededForRoot, toHex, utf8, type TileCoord,
} from '@meterseal/protocol';
import { openSqliteStore } from './sqlite-store.js';
import { appendEntry } from './testing/store-conformance.js';
import { FULL_TILE_CACHE_CONTROL, PARTIAL_TILE_CACHE_CONTROL, readEntryBundle, readTile, tileAvailable, tileResponse, type TileSource } from './tiles.js';

/** A TileSource over a MemoryTree that, like a real store at `size`, has no node the tree does not complete. */
class MemoryTileSource implements TileSource {
  size = 0n;
  constructor(readonly tree: MemoryTree) {}
  treeSize(): bigint {
    return this.size;
  }
  getNodes(level: number, from: bigint, count: number): Uint8Array[] {
    if ((from + BigInt(count)) << BigInt(level) > this.size) throw new Error(`node (${level}, ${from + BigInt(count) - 1n}) is not complete at size ${this.size}`);
    return Array.from({ length: count }, (_, i) => this.tree.getNode(level, from + BigInt(i)));
  }
  getEntries(): Uint8Array[] {
    throw new Error('this fake keeps leaf hashes only');
  }
}

/** The root a client computes from the tiles this source serves for `size`. */
function rootFromTiles(src: TileSource, size: bigint): Uint8Array {
  const tiles = tilesNeededForRoot(size).map((c): [TileCoord, Uint8Array] => {
    const bytes = readTile(src, c.level, c.index, c.width);
    if (!bytes) throw new Error(`tile ${c.level}/${c.index}.p/${c.width} not served at size ${size}`);
    return [c, bytes];
  });
  return rootAt(TileNodeReader.fromTiles(tiles), size);
}

t.test('SQLite store: the root from tiles equals the log root at every size 1..600; bundles hash to level-0 tiles', async (t) => {
  const s = openSqliteStore(':memory:');
  t.teardown(() => s.close());
  const mismatches: bigint[] = [];
  for (let i = 0; i < 600; i++) {
    appendEntry(s, utf8.encode(`entry ${i}`), { kind: 'auth', meterId: 'M', passed: false, atMs: i });
    const size = s.treeSize();
    if (!bytesEqual(rootFromTiles(s, size), rootAt(s, size))) mismatches.push(size);
  }
  t.same(mismatches, [], 'sizes 1..600, including 256, 257 and 512');

  const tile0 = readTile(s, 0, 0n, 256)!;
  t.equal(tile0.length, 8192, 'a full tile is 256 raw hashes, 8,192 bytes');
  const bundle0 = parseEntryBundle(readEntryBundle(s, 0n, 256)!, 256);
  bundle0.forEach((e, i) => {
    if (!bytesEqual(leafHash(e), tile0.subarray(i * 32, i * 32 + 32))) t.fail(`entry ${i} does not hash to its tile hash`);
  });
  t.equal(utf8.decode(bundle0[255]!), 'entry 255');
  const partial = parseEntryBundle(readEntryBundle(s, 2n, 88)!, 88);
  t.equal(utf8.decode(partial[87]!), 'entry 599');
  t.same(readTile(s, 1, 0n, 2), concatBytes(s.getNode(8, 0n), s.getNode(8, 1n)), 'level 1 holds tree level 8');
});

t.test('a fake store over a MemoryTree: sizes around 65,536 and the spec example of 70,000', async (t) => {
  const tree = new MemoryTree();
  for (let i = 0; i < 70_000; i++) tree.append(leafHash(new Uint8Array([i & 255, (i >> 8) & 255, i >> 16])));
  const src = new MemoryTileSource(tree);
  for (const size of [65_535n, 65_536n, 65_537n, 65_538n, 65_791n, 65_792n, 65_793n, 70_000n]) {
    src.size = size;
    t.equal(toHex(rootFromTiles(src, size)), toHex(tree.root(size)), `size ${size}`);
  }
  src.size = 70_000n;
  // "273 full level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile, one partial level 1
  // tile of width 17, and one partial level 2 tile of width 1"
  t.ok(readTile(src, 0, 272n, 256));
  t.equal(readTile(src, 0, 273n, 256), undefined);
  t.equal(readTile(src, 0, 273n, 112)?.length, 112 * 32);
  t.equal(readTile(src, 0, 273n, 113), undefined);
  t.ok(readTile(src, 1, 0n, 256));
  t.equal(readTile(src, 1, 1n, 17)?.length, 17 * 32);
  t.equal(readTile(src, 1, 1n, 18), undefined);
  t.equal(readTile(src, 2, 0n, 1)?.length, 32);
  t.equal(readTile(src, 2, 0n, 2), undefined);
  t.equal(readTile(src, 3, 0n, 1), undefined);
  t.same(readTile(src, 2, 0n, 1), tree.getNode(16, 0n), 'level 2 holds tree level 16');
});

t.test('partial-tile rules: served once the tree has every hash, for the current and every earlier size', async (t) => {
  t.ok(tileAvailable(0, 1n, 44, 300n), 'the width size 300 produces');
  t.ok(tileAvailable(0, 1n, 10, 300n), 'the width an earlier size (266) produced');
  t.notOk(tileAvailable(0, 1n, 45, 300n), 'a width only a later size produces');
  t.notOk(tileAvailable(0, 1n, 256, 300n), 'the full tile is not there yet');
  t.ok(tileAvailable(0, 0n, 256, 300n));
  t.ok(tileAvailable(0, 0n, 5, 300n), 'a partial tile may still be served once the full one exists (the spec lets a log keep it)');
  t.ok(tileAvailable(1, 0n, 1, 300n));
  t.notOk(tileAvailable(1, 0n, 2, 300n));
  t.notOk(tileAvailable(0, 2n, 1, 300n), 'no tile beyond the tree');
  t.notOk(tileAvailable(0, 0n, 1, 0n), 'an empty tree has no tiles');
  t.notOk(tileAvailable(63, (1n << 64n) - 1n, 255, (1n << 64n) - 1n), 'huge coordinates: no overflow, no tile');
  t.notOk(tileAvailable(8, 0n, 1, (1n << 64n) - 1n), 'tree level 64 never completes in a u64 tree');
});

t.test('tileResponse: status, cache headers and messages', async (t) => {
  const s = openSqliteStore(':memory:');
  t.teardown(() => s.close());
  for (let i = 0; i < 300; i++) appendEntry(s, utf8.encode(`e${i}`), { kind: 'auth', meterId: 'M', passed: false, atMs: i });
  t.match(tileResponse(s, '/tile/0/000'), { status: 200, cacheControl: FULL_TILE_CACHE_CONTROL });
  t.match(tileResponse(s, '/tile/0/001.p/44'), { status: 200, cacheControl: PARTIAL_TILE_CACHE_CONTROL });
  t.match(tileResponse(s, '/tile/entries/001.p/44'), { status: 200, cacheControl: PARTIAL_TILE_CACHE_CONTROL });
  t.match(tileResponse(s, '/tile/0/001.p/45'), { status: 404, code: 'NOT_FOUND', message: 'tile/0/001.p/45 is not in the log (tree size 300)' });
  t.match(tileResponse(s, '/tile/0/001'), { status: 404, code: 'NOT_FOUND' });
  t.match(tileResponse(s, '/tile/0/01'), { status: 400, code: 'BAD_TILE_PATH', message: /3-digit path elements/ });
  t.match(tileResponse(s, 'tile/0/000'), { status: 400, code: 'BAD_TILE_PATH' });
});
