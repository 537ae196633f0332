import t from 'tap';
import { concatBytes, toHex } from '../bytes.js';
import { leafHash } from '../merkle/hashing.js';
import { MemoryTree, consistencyProof, inclusionProof, rootAt, subtreeRoot } from '../merkle/tree.js';
import { verifyConsistency, verifyInclusion } from '../merkle/verify.js';
import { TILE_WIDTH, tilePath, type TileCoord } from './path.js';
import {
  TileNodeReader, loadTiles, tileAt, tileForNode, tilesNeededForConsistency, tilesNeededForInclusion, tilesNeededForRoot,
} from './reader.js';

// One reference tree; tiles for smaller sizes are cut from it (nodes never change once complete).
const N = 70_000;
const tree = new MemoryTree();
const leaves: Uint8Array[] = [];
for (let i = 0; i < N; i++) {
  leaves.push(leafHash(new Uint8Array([i & 255, (i >> 8) & 255, i >> 16])));
  tree.append(leaves[i]!);
}

/** A tile as a server computes it: tree level 8·L, node indexes [256·N, 256·N + W). */
function tileBytes(c: TileCoord): Uint8Array {
  const hs: Uint8Array[] = [];
  for (let i = 0; i < c.width; i++) hs.push(tree.getNode(8 * c.level, c.index * 256n + BigInt(i)));
  return concatBytes(...hs);
}
const readerFor = (coords: TileCoord[]): TileNodeReader => TileNodeReader.fromTiles(coords.map((c) => [c, tileBytes(c)] as const));

t.test('tileAt follows the spec: a tree of 70,000 and a tree of 256', async (t) => {
  // c2sp.org/tlog-tiles: "273 full level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile,
  // one partial level 1 tile of width 17, and one partial level 2 tile of width 1"
  t.same(tileAt(0, 272n, 70_000n), { level: 0, index: 272n, width: 256 });
  t.same(tileAt(0, 273n, 70_000n), { level: 0, index: 273n, width: 112 });
  t.equal(tileAt(0, 274n, 70_000n), undefined);
  t.same(tileAt(1, 0n, 70_000n), { level: 1, index: 0n, width: 256 });
  t.same(tileAt(1, 1n, 70_000n), { level: 1, index: 1n, width: 17 });
  t.same(tileAt(2, 0n, 70_000n), { level: 2, index: 0n, width: 1 });
  t.equal(tileAt(3, 0n, 70_000n), undefined);
  // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile of width 1"
  t.same(tileAt(0, 0n, 256n), { level: 0, index: 0n, width: 256 });
  t.equal(tileAt(0, 1n, 256n), undefined, 'no empty tile');
  t.same(tileAt(1, 0n, 256n), { level: 1, index: 0n, width: 1 });
  t.equal(tileAt(0, 0n, 0n), undefined);
  t.same(tileForNode(3, 33n, 300n), { level: 0, index: 1n, width: 44 });
  t.same(tileForNode(8, 0n, 300n), { level: 1, index: 0n, width: 1 });
  t.throws(() => tileAt(0.5, 0n, 300n), { code: 'BAD_TILE' });
  t.throws(() => tileAt(64, 0n, 300n), { code: 'BAD_TILE' });
  t.throws(() => tileAt(0, -1n, 300n), { code: 'BAD_TILE' });
  t.throws(() => tileAt(0, 0n, 1n << 64n), { code: 'MERKLE_RANGE' });
  t.throws(() => tileForNode(0, 300n, 300n), { code: 'MERKLE_RANGE' }, 'not a complete node');
  t.throws(() => tileForNode(2, 74n, 298n), { code: 'MERKLE_RANGE' }, 'leaves 296..299 are not all there');
});

t.test('tile hashes are the spec formula MTH(D[(n·256 + i)·256^l : (n·256 + i + 1)·256^l])', async (t) => {
  for (const [l, n, i] of [[0, 0n, 0n], [0, 273n, 111n], [1, 0n, 255n], [1, 1n, 16n], [2, 0n, 0n]] as const) {
    const c = tileAt(l, n, 70_000n)!;
    const hash = tileBytes(c).subarray(Number(i) * 32, Number(i) * 32 + 32);
    const span = 256n ** BigInt(l);
    t.equal(toHex(hash), toHex(subtreeRoot(tree, (n * 256n + i) * span, (n * 256n + i + 1n) * span)), `tile ${l}/${n} hash ${i}`);
  }
});

t.test('roots from tiles alone equal the tree root, sizes 1..600 and around 65,536', async (t) => {
  let bad = 0;
  const sizes = [...Array.from({ length: 600 }, (_, i) => BigInt(i + 1)), 65_535n, 65_536n, 65_537n, 65_792n, 65_793n, 70_000n];
  for (const size of sizes) {
    const coords = tilesNeededForRoot(size);
    if (toHex(rootAt(readerFor(coords), size)) !== toHex(tree.root(size))) bad++;
  }
  t.equal(bad, 0, `${sizes.length} sizes`);
  t.same(tilesNeededForRoot(256n).map((c) => tilePath(c.level, c.index, c.width)), ['tile/1/000.p/1'], 'one node: the level 1 tile suffices');
  t.same(tilesNeededForRoot(70_000n).map((c) => tilePath(c.level, c.index, c.width)), ['tile/0/273.p/112', 'tile/1/001.p/17', 'tile/2/000.p/1']);
});

t.test('inclusion and consistency proofs from the listed tiles alone equal the direct ones and verify', async (t) => {
  let bad = 0;
  let checked = 0;
  const sizes = [1n, 2n, 3n, 255n, 256n, 257n, 511n, 513n, 600n, 65_536n, 65_537n, 70_000n];
  for (const size of sizes) {
    const root = tree.root(size);
    for (const index of [0n, 1n, size / 3n, size / 2n, 255n, 256n, size - 2n, size - 1n]) {
      if (index < 0n || index >= size) continue;
      const proof = inclusionProof(readerFor(tilesNeededForInclusion(index, size)), index, size);
      const direct = inclusionProof(tree, index, size);
      if (proof.map(toHex).join() !== direct.map(toHex).join() || !verifyInclusion(leaves[Number(index)]!, index, size, proof, root)) bad++;
      checked++;
    }
    for (const m of [1n, 2n, 7n, 255n, 256n, 257n, 4096n, 65_535n, 65_536n, size - 1n, size]) {
      if (m < 1n || m > size) continue;
      const proof = consistencyProof(readerFor(tilesNeededForConsistency(m, size)), m, size);
      if (!verifyConsistency(m, size, proof, tree.root(m), root)) bad++;
      checked++;
    }
  }
  t.equal(bad, 0, `${checked} proofs`);
  t.same(tilesNeededForConsistency(5n, 5n), [], 'equal sizes need nothing');
  t.throws(() => tilesNeededForInclusion(5n, 5n), { code: 'MERKLE_RANGE' });
  t.throws(() => tilesNeededForConsistency(6n, 5n), { code: 'MERKLE_RANGE' });
});

t.test('TileNodeReader: missing, short and malformed tiles are errors; tampered tiles fail verification', async (t) => {
  const empty = new TileNodeReader(() => undefined);
  t.throws(() => empty.getNode(0, 0n), { code: 'TILE_MISSING' });
  const narrow = readerFor([{ level: 0, index: 0n, width: 3 }]);
  t.same(narrow.getNode(1, 0n), tree.getNode(1, 0n));
  t.throws(() => narrow.getNode(1, 1n), { code: 'TILE_MISSING' }, 'needs 4 hashes of a 3-hash tile');
  t.throws(() => TileNodeReader.fromTiles([[{ level: 0, index: 0n, width: 2 }, new Uint8Array(63)]]), { code: 'BAD_TILE' });
  t.throws(() => new TileNodeReader(() => new Uint8Array(33)).getNode(0, 0n), { code: 'BAD_TILE' });
  t.throws(() => new TileNodeReader(() => new Uint8Array(32 * 257)).getNode(0, 0n), { code: 'BAD_TILE' });

  const wide = TileNodeReader.fromTiles([
    [{ level: 0, index: 0n, width: 2 }, tileBytes({ level: 0, index: 0n, width: 2 })],
    [{ level: 0, index: 0n, width: 256 }, tileBytes({ level: 0, index: 0n, width: 256 })],
  ]);
  t.same(wide.getNode(7, 0n), tree.getNode(7, 0n), 'the widest tile of a coordinate is used');
  t.throws(() => wide.getNode(8, 0n), { code: 'TILE_MISSING' }, 'a level 8 node is read from tile level 1');
  t.same(readerFor([{ level: 1, index: 0n, width: 1 }]).getNode(8, 0n), tree.getNode(8, 0n));

  const size = 600n;
  const coords = tilesNeededForInclusion(77n, size);
  const tampered = TileNodeReader.fromTiles(coords.map((c) => {
    const b = tileBytes(c).slice();
    b[b.length - 1]! ^= 1;
    return [c, b] as const;
  }));
  t.notOk(verifyInclusion(leaves[77]!, 77n, size, inclusionProof(tampered, 77n, size), tree.root(size)));
});

t.test('loadTiles fetches each listed path once, in parallel, and checks lengths', async (t) => {
  const asked: string[] = [];
  const byPath = new Map<string, TileCoord>();
  const coords = tilesNeededForInclusion(1000n, 70_000n);
  for (const c of coords) byPath.set(tilePath(c.level, c.index, c.width), c);
  const reader = await loadTiles(coords, async (p) => {
    asked.push(p);
    return tileBytes(byPath.get(p)!);
  });
  t.same(asked.sort(), [...byPath.keys()].sort());
  t.ok(verifyInclusion(leaves[1000]!, 1000n, 70_000n, inclusionProof(reader, 1000n, 70_000n), tree.root()));
  await t.rejects(loadTiles(coords, async () => new Uint8Array(32)), { code: 'BAD_TILE' });
  t.equal(TILE_WIDTH, 256);
});
