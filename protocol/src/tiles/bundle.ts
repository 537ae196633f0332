// Entry bundles, c2sp.org/tlog-tiles "Log entries": "sequences of big-endian uint16 length-prefixed log
// entries", at most 256 of them (one per hash of the level-0 tile). parseEntryBundle is a pure function
// over hostile bytes that throws ProtocolError BAD_ENTRY_BUNDLE.
import { ProtocolError } from '../errors.js';
import { TILE_WIDTH } from './path.js';

/** The largest entry a uint16 length prefix can carry. */
export const MAX_BUNDLED_ENTRY = 0xffff;

export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length === 0 || entries.length > TILE_WIDTH) {
    throw new ProtocolError('BAD_ENTRY_BUNDLE', `an entry bundle holds 1 to ${TILE_WIDTH} entries, not ${entries.length}`);
  }
  let n = 0;
  for (const [i, e] of entries.entries()) {
    if (!(e instanceof Uint8Array)) throw new ProtocolError('BAD_ENTRY_BUNDLE', `entry ${i} is not a Uint8Array`);
    if (e.length > MAX_BUNDLED_ENTRY) throw new ProtocolError('ENTRY_TOO_LONG', `entry ${i} has ${e.length} bytes; a bundle entry has at most ${MAX_BUNDLED_ENTRY}`);
    n += 2 + e.length;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const e of entries) {
    out[off] = e.length >> 8; // c2sp.org/tlog-tiles: big-endian uint16 length prefix
    out[off + 1] = e.length & 0xff;
    out.set(e, off + 2);
    off += 2 + e.length;
  }
  return out;
}

/**
 * The entries of a bundle, in order (views into `bytes`, no copy). With `expectedCount` (the width the
 * path named), a bundle with another number of entries is refused.
 */
export function parseEntryBundle(bytes: Uint8Array, expectedCount?: number): Uint8Array[] {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('BAD_ENTRY_BUNDLE', 'entry bundle must be a Uint8Array');
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (out.length === TILE_WIDTH) throw new ProtocolError('BAD_ENTRY_BUNDLE', `entry bundle has more than ${TILE_WIDTH} entries`);
    if (off + 2 > bytes.length) throw new ProtocolError('BAD_ENTRY_BUNDLE', `truncated length prefix at offset ${off}`);
    const len = (bytes[off]! << 8) | bytes[off + 1]!;
    if (off + 2 + len > bytes.length) throw new ProtocolError('BAD_ENTRY_BUNDLE', `entry ${out.length} at offset ${off} claims ${len} bytes; ${bytes.length - off - 2} remain`);
    out.push(bytes.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  if (out.length === 0) throw new ProtocolError('BAD_ENTRY_BUNDLE', 'empty entry bundle'); // "Empty tiles MUST NOT be served"
  if (expectedCount !== undefined && out.length !== expectedCount) {
    throw new ProtocolError('BAD_ENTRY_BUNDLE', `entry bundle has ${out.length} entries, expected ${expectedCount}`);
  }
  return out;
}
