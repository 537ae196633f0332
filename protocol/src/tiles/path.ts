// Tile coordinates and their paths, c2sp.org/tlog-tiles ("Merkle Tree" and "Log entries"): a tile at level
// L, index N, holds the hashes of tree level 8·L, node indexes [256·N, 256·N + W). Paths are
// tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>], with N in 3-digit groups, all but the last x-prefixed.
// parseTilePath takes hostile input (a request path): it accepts only the one canonical spelling of a tile.
import { ProtocolError } from '../errors.js';

/** c2sp.org/tlog-tiles: tiles are 8 tree levels high, so a full tile holds 2^8 = 256 hashes. */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
/** c2sp.org/tlog-tiles: <L> is "between 0 and 63". */
export const MAX_TILE_LEVEL = 63;
/** Longer than any canonical path (tile/entries/ + 7 groups for 2^64-1 + .p/255 is 46 characters). */
export const MAX_TILE_PATH_LENGTH = 64;

const U64_LIMIT = 1n << 64n;
const MAX_GROUPS = 7; // 2^64 - 1 has 20 decimal digits

/** One tile: `width` hashes (1..256; 256 = a full tile) at tile level `level`, tile index `index`. */
export interface TileCoord {
  level: number;
  index: bigint;
  width: number;
}

export type ParsedTilePath =
  | { kind: 'hashes'; level: number; index: bigint; width: number }
  | { kind: 'entries'; index: bigint; width: number };

function checkCoord(level: number | 'entries', index: bigint, width: number): void {
  if (level !== 'entries' && !(Number.isInteger(level) && level >= 0 && level <= MAX_TILE_LEVEL)) {
    throw new ProtocolError('BAD_TILE', `tile level must be an integer from 0 to ${MAX_TILE_LEVEL}`);
  }
  if (typeof index !== 'bigint' || index < 0n || index >= U64_LIMIT) throw new ProtocolError('BAD_TILE', 'tile index must be a u64 bigint');
  if (!(Number.isInteger(width) && width >= 1 && width <= TILE_WIDTH)) {
    throw new ProtocolError('BAD_TILE', `tile width must be an integer from 1 to ${TILE_WIDTH}`);
  }
}

const pad3 = (n: bigint): string => n.toString().padStart(3, '0');

/** c2sp.org/tlog-tiles: "zero-padded 3-digit path elements. All but the last path element MUST begin with an x". */
function encodeIndex(index: bigint): string {
  let s = pad3(index % 1000n);
  for (let n = index / 1000n; n > 0n; n /= 1000n) s = `x${pad3(n % 1000n)}/${s}`;
  return s;
}

/**
 * The path of a tile (`level` a number) or an entry bundle (`level` = 'entries'), relative to the log's
 * prefix: tile/0/x001/234, tile/1/005.p/17, tile/entries/000.p/3. A width of 256 (the default) is a full tile.
 */
export function tilePath(level: number | 'entries', index: bigint, width: number = TILE_WIDTH): string {
  checkCoord(level, index, width);
  const partial = width === TILE_WIDTH ? '' : `.p/${width}`; // c2sp.org/tlog-tiles: ".p/<W>" only for partial tiles
  return `tile/${level}/${encodeIndex(index)}${partial}`;
}

/** The entry bundle path of the level-0 tile `index`: tile/entries/<N>[.p/<W>]. */
export function entryBundlePath(index: bigint, width: number = TILE_WIDTH): string {
  return tilePath('entries', index, width);
}

function allDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** A decimal ASCII integer with "no additional leading zeroes" (c2sp.org/tlog-tiles), up to `max`. */
function smallDecimal(s: string, min: number, max: number, what: string): number {
  if (!allDigits(s) || s.length > 3 || (s.length > 1 && s[0] === '0')) {
    throw new ProtocolError('BAD_TILE_PATH', `${what} must be a decimal integer from ${min} to ${max} without leading zeros`);
  }
  const v = Number(s);
  if (v < min || v > max) throw new ProtocolError('BAD_TILE_PATH', `${what} must be from ${min} to ${max}`);
  return v;
}

/**
 * Parses a tile or entry bundle path (as tilePath writes it, without a leading slash). Throws ProtocolError
 * BAD_TILE_PATH for anything that is not the canonical path of a tile: leading zeros in <L> or <W>, a
 * zero leading group or a missing x in <N>, W outside 1..255, an index of 2^64 or more, other characters.
 */
export function parseTilePath(path: string): ParsedTilePath {
  if (typeof path !== 'string') throw new ProtocolError('BAD_TILE_PATH', 'tile path must be a string');
  if (path.length > MAX_TILE_PATH_LENGTH) throw new ProtocolError('BAD_TILE_PATH', `tile path is longer than ${MAX_TILE_PATH_LENGTH} characters`);
  const parts = path.split('/');
  if (parts[0] !== 'tile' || parts.length < 3) throw new ProtocolError('BAD_TILE_PATH', "tile path must be 'tile/<L>/<N>[.p/<W>]' or 'tile/entries/<N>[.p/<W>]'");
  const entries = parts[1] === 'entries';
  const level = entries ? 0 : smallDecimal(parts[1]!, 0, MAX_TILE_LEVEL, 'tile level <L>');

  let groups = parts.slice(2);
  let width = TILE_WIDTH;
  const last = groups[groups.length - 2];
  if (last !== undefined && last.endsWith('.p')) {
    width = smallDecimal(groups[groups.length - 1]!, 1, TILE_WIDTH - 1, 'partial tile width <W>');
    groups = [...groups.slice(0, -2), last.slice(0, -2)];
  }
  if (groups.length > MAX_GROUPS) throw new ProtocolError('BAD_TILE_PATH', `tile index <N> has more than ${MAX_GROUPS} path elements`);
  let index = 0n;
  groups.forEach((g, i) => {
    const isLast = i === groups.length - 1;
    const digits = isLast ? g : g.startsWith('x') ? g.slice(1) : '';
    if (digits.length !== 3 || !allDigits(digits)) {
      throw new ProtocolError('BAD_TILE_PATH', 'tile index <N> must be 3-digit path elements, all but the last prefixed with x');
    }
    index = index * 1000n + BigInt(digits);
    if (i === 0 && !isLast && index === 0n) throw new ProtocolError('BAD_TILE_PATH', 'tile index <N> must not start with a zero path element');
  });
  if (index >= U64_LIMIT) throw new ProtocolError('BAD_TILE_PATH', 'tile index <N> exceeds 64 bits');
  // Exactly one spelling per tile, as golang.org/x/mod/sumdb/tlog also insists.
  if (tilePath(entries ? 'entries' : level, index, width) !== path) throw new ProtocolError('BAD_TILE_PATH', 'not a canonical tile path');
  return entries ? { kind: 'entries', index, width } : { kind: 'hashes', level, index, width };
}
