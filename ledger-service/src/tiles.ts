// The C2SP tlog-tiles read API (https://c2sp.org/tlog-tiles) over the stored complete-subtree nodes, so
// standard tile clients can read the log: GET /tile/<L>/<N>[.p/<W>] (hashes of tree level 8·L, node
// indexes [256·N, 256·N + W)) and GET /tile/entries/<N>[.p/<W>] (entry bundles). Nodes never change
// once complete, so a tile is served exactly when the tree has all its hashes: a full tile once the tree
// covers it, a partial tile of width W once the tree has reached a size that produces it (the current
// size or any earlier one, so a client holding an older checkpoint can still fetch its tiles).
import type {
  FastifyBaseLogger, FastifyInstance, FastifyReply, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault,
} from 'fastify';
import {
  ProtocolError, TILE_HEIGHT, TILE_WIDTH, concatBytes, encodeEntryBundle, parseTilePath, tilePath, type ParsedTilePath,
} from '@meterseal/protocol';
import type { LedgerStore } from './store.js';

/** What serving tiles needs from the store. */
export type TileSource = Pick<LedgerStore, 'treeSize' | 'getNodes' | 'getEntries'>;

/** c2sp.org/tlog-tiles: tiles are immutable, "so its caching headers SHOULD be long-lived". */
export const FULL_TILE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** Partial tiles never change either, but a log MAY stop serving them once the full tile exists. */
export const PARTIAL_TILE_CACHE_CONTROL = 'public, max-age=86400';

const H = BigInt(TILE_HEIGHT);

/**
 * Whether a tree of `size` leaves has every hash of tile (level, index, width): its last hash is
 * MTH(D[(256·index + width − 1)·256^level : (256·index + width)·256^level]) (c2sp.org/tlog-tiles), so
 * the tree must hold (256·index + width)·256^level leaves. Width 256 is the full tile.
 */
export function tileAvailable(level: number, index: bigint, width: number, size: bigint): boolean {
  return (index * BigInt(TILE_WIDTH) + BigInt(width)) << (H * BigInt(level)) <= size;
}

/** Tile bytes (width × 32: raw hashes, concatenated), or undefined if the tree does not have them yet. */
export function readTile(src: TileSource, level: number, index: bigint, width: number, size = src.treeSize()): Uint8Array | undefined {
  if (!tileAvailable(level, index, width, size)) return undefined;
  return concatBytes(...src.getNodes(TILE_HEIGHT * level, index * BigInt(TILE_WIDTH), width)); // tree level 8·L
}

/** The entry bundle of level-0 tile `index` (width entries), or undefined if the tree does not have them yet. */
export function readEntryBundle(src: TileSource, index: bigint, width: number, size = src.treeSize()): Uint8Array | undefined {
  if (!tileAvailable(0, index, width, size)) return undefined;
  return encodeEntryBundle(src.getEntries(index * BigInt(TILE_WIDTH), width));
}

export type TileResponse =
  | { status: 200; body: Uint8Array; cacheControl: string }
  | { status: 400 | 404; code: 'BAD_TILE_PATH' | 'NOT_FOUND'; message: string };

/** The answer to a request path (as sent, without the query), e.g. "/tile/0/x001/234.p/7". */
export function tileResponse(src: TileSource, requestPath: string): TileResponse {
  let t: ParsedTilePath;
  try {
    if (!requestPath.startsWith('/')) throw new ProtocolError('BAD_TILE_PATH', 'tile path must start with /');
    t = parseTilePath(requestPath.slice(1));
  } catch (err) {
    if (err instanceof ProtocolError) return { status: 400, code: 'BAD_TILE_PATH', message: err.message };
    throw err;
  }
  const size = src.treeSize();
  const body = t.kind === 'entries' ? readEntryBundle(src, t.index, t.width, size) : readTile(src, t.level, t.index, t.width, size);
  if (body === undefined) {
    const path = tilePath(t.kind === 'entries' ? 'entries' : t.level, t.index, t.width);
    return { status: 404, code: 'NOT_FOUND', message: `${path} is not in the log (tree size ${size})` };
  }
  return { status: 200, body, cacheControl: t.width === TILE_WIDTH ? FULL_TILE_CACHE_CONTROL : PARTIAL_TILE_CACHE_CONTROL };
}

function send(reply: Pick<FastifyReply, 'code'>, r: TileResponse): FastifyReply {
  if (r.status !== 200) {
    // A missing tile may appear later: nobody may cache the 404.
    return reply.code(r.status).header('cache-control', 'no-store').send({ error: { code: r.code, message: r.message } });
  }
  return reply
    .code(200)
    .header('content-type', 'application/octet-stream') // c2sp.org/tlog-tiles
    .header('cache-control', r.cacheControl)
    .send(Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength));
}

/** GET /tile/… on `app`. The raw request path is parsed (not a router-decoded one): one spelling per tile. */
export function registerTileRoutes<L extends FastifyBaseLogger>(app: FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, L>, src: TileSource): void {
  app.get('/tile/*', async (req, reply) => {
    const q = req.url.indexOf('?');
    if (q >= 0) return send(reply, { status: 400, code: 'BAD_TILE_PATH', message: 'tile paths take no query string' });
    return send(reply, tileResponse(src, req.url));
  });
}
