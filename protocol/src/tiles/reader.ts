// Merkle proofs from tiles alone (c2sp.org/tlog-tiles "Merkle Tree"): which tiles a client needs for an
// inclusion proof, a consistency proof or a root, and a NodeReader over the fetched tiles, so the
// protocol's own inclusionProof / consistencyProof / rootAt run unchanged. The tiles are not trusted:
// a proof built from wrong tiles fails verifyInclusion / verifyConsistency against a signed checkpoint.
import { ProtocolError } from '../errors.js';
import { HASH_LENGTH, nodeHash } from '../merkle/hashing.js';
import { consistencyProof, inclusionProof, rootAt, type NodeReader } from '../merkle/tree.js';
import { MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH, tilePath, type TileCoord } from './path.js';

const H = BigInt(TILE_HEIGHT);
const U64_LIMIT = 1n << 64n;

/** The bytes of the widest tile the caller holds at (tile level, tile index), or undefined. */
export type TileLookup = (level: number, index: bigint) => Uint8Array | undefined;

function checkSize(size: bigint, what = 'tree size'): void {
  if (typeof size !== 'bigint' || size < 0n || size >= U64_LIMIT) throw new ProtocolError('MERKLE_RANGE', `${what} must be a u64 bigint`);
}

/**
 * The tile a tree of `size` leaves serves at (tile level, tile index): full (256) when the tree covers it
 * all, otherwise the partial width floor(size / 256^level) mod 256 (c2sp.org/tlog-tiles "Partial Tiles");
 * undefined when that tile has no hash yet.
 */
export function tileAt(level: number, index: bigint, size: bigint): TileCoord | undefined {
  checkSize(size);
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) throw new ProtocolError('BAD_TILE', `tile level must be an integer from 0 to ${MAX_TILE_LEVEL}`);
  if (typeof index !== 'bigint' || index < 0n) throw new ProtocolError('BAD_TILE', 'tile index must be a non-negative bigint');
  const span = 1n << (H * BigInt(level + 1)); // leaves under one full tile at this level
  if ((index + 1n) * span <= size) return { level, index, width: TILE_WIDTH };
  if (index !== size / span) return undefined;
  const width = Number((size >> (H * BigInt(level))) % BigInt(TILE_WIDTH));
  return width === 0 ? undefined : { level, index, width }; // "Empty tiles MUST NOT be served"
}

/**
 * The tile (as served for a tree of `size`) that holds complete node (level, index): tile level
 * ⌊level/8⌋, whose hashes are the nodes of tree level 8·⌊level/8⌋ under it.
 */
export function tileForNode(level: number, index: bigint, size: bigint): TileCoord {
  checkSize(size);
  if (!Number.isInteger(level) || level < 0 || index < 0n || (index + 1n) << BigInt(level) > size) {
    throw new ProtocolError('MERKLE_RANGE', `node (level ${level}, index ${index}) is not complete in a tree of size ${size}`);
  }
  const tl = Math.floor(level / TILE_HEIGHT);
  const first = index << BigInt(level % TILE_HEIGHT); // its first hash at tree level 8·tl
  return tileAt(tl, first / BigInt(TILE_WIDTH), size)!;
}

const DUMMY = new Uint8Array(HASH_LENGTH);

/** Runs `use` over a reader that records which tiles its node reads fall in. */
function tilesRead(size: bigint, use: (r: NodeReader) => unknown): TileCoord[] {
  const seen = new Map<string, TileCoord>();
  use({
    getNode(level, index) {
      const c = tileForNode(level, index, size);
      seen.set(`${c.level}/${c.index}`, c);
      return DUMMY;
    },
  });
  return [...seen.values()].sort((a, b) => a.level - b.level || (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
}

/** The tiles a client fetches to build PATH(index, D[0:size]) (RFC 9162 §2.1.3.1) with inclusionProof. */
export function tilesNeededForInclusion(index: bigint, size: bigint): TileCoord[] {
  return tilesRead(size, (r) => inclusionProof(r, index, size));
}

/** The tiles a client fetches to build PROOF(m, D[0:n]) (RFC 9162 §2.1.4.1) with consistencyProof. */
export function tilesNeededForConsistency(m: bigint, n: bigint): TileCoord[] {
  return tilesRead(n, (r) => consistencyProof(r, m, n));
}

/** The tiles a client fetches to compute MTH(D[0:size]) (RFC 9162 §2.1.1) with rootAt. */
export function tilesNeededForRoot(size: bigint): TileCoord[] {
  return tilesRead(size, (r) => rootAt(r, size));
}

function checkTileBytes(c: TileCoord, bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== c.width * HASH_LENGTH) {
    throw new ProtocolError('BAD_TILE', `${tilePath(c.level, c.index, c.width)} must be ${c.width * HASH_LENGTH} bytes, got ${bytes?.length}`);
  }
}

/**
 * A NodeReader over tiles: node (level, index) is read from tile level ⌊level/8⌋, as the root of its
 * 2^(level mod 8) consecutive hashes (c2sp.org/tlog-tiles: "The Merkle Tree levels between those expressed
 * by the tile hashes are reconstructed by hashing the leaves"). Throws TILE_MISSING when the lookup has
 * no tile, or too narrow a one, for a node.
 */
export class TileNodeReader implements NodeReader {
  private readonly memo = new Map<string, Uint8Array>();

  constructor(private readonly lookup: TileLookup) {}

  /** A reader over fetched tiles (each checked to be width × 32 bytes); the widest per coordinate wins. */
  static fromTiles(tiles: Iterable<readonly [TileCoord, Uint8Array]>): TileNodeReader {
    const map = new Map<string, Uint8Array>();
    for (const [c, bytes] of tiles) {
      checkTileBytes(c, bytes);
      const key = `${c.level}/${c.index}`;
      if ((map.get(key)?.length ?? -1) < bytes.length) map.set(key, bytes);
    }
    return new TileNodeReader((level, index) => map.get(`${level}/${index}`));
  }

  getNode(level: number, index: bigint): Uint8Array {
    const key = `${level}/${index}`;
    const hit = this.memo.get(key);
    if (hit) return hit;
    const tl = Math.floor(level / TILE_HEIGHT);
    const count = 1 << (level % TILE_HEIGHT);
    const first = index * BigInt(count);
    const tileIndex = first / BigInt(TILE_WIDTH);
    const offset = Number(first % BigInt(TILE_WIDTH));
    const tile = this.lookup(tl, tileIndex);
    if (tile === undefined) throw new ProtocolError('TILE_MISSING', `node (level ${level}, index ${index}) needs tile ${tl}/${tileIndex}, which was not fetched`);
    if (tile.length % HASH_LENGTH !== 0 || tile.length > TILE_WIDTH * HASH_LENGTH) throw new ProtocolError('BAD_TILE', `tile ${tl}/${tileIndex} has ${tile.length} bytes`);
    if ((offset + count) * HASH_LENGTH > tile.length) {
      throw new ProtocolError('TILE_MISSING', `node (level ${level}, index ${index}) needs ${offset + count} hashes of tile ${tl}/${tileIndex}, which has ${tile.length / HASH_LENGTH}`);
    }
    let row: Uint8Array[] = [];
    for (let i = offset; i < offset + count; i++) row.push(tile.subarray(i * HASH_LENGTH, (i + 1) * HASH_LENGTH));
    while (row.length > 1) {
      const up: Uint8Array[] = [];
      for (let i = 0; i < row.length; i += 2) up.push(nodeHash(row[i]!, row[i + 1]!)); // RFC 9162 §2.1.1
      row = up;
    }
    this.memo.set(key, row[0]!);
    return row[0]!;
  }
}

/**
 * Fetches `coords` in parallel with `fetchTile(path)` (paths relative to the log prefix, from tilePath)
 * and returns a TileNodeReader over them. Each tile must be exactly width × 32 bytes (BAD_TILE).
 */
export async function loadTiles(coords: readonly TileCoord[], fetchTile: (path: string) => Promise<Uint8Array>): Promise<TileNodeReader> {
  const fetched = await Promise.all(coords.map(async (c) => [c, await fetchTile(tilePath(c.level, c.index, c.width))] as const));
  return TileNodeReader.fromTiles(fetched);
}
