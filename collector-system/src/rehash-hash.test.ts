// rehash-hash.ts against the protocol's own definitions: the reading hash, the meter-tree leaf (meterLeafHash)
// and the RFC 9162 root (rootOfLeaves) of every size up to 70 leaves.
import t from 'tap';
import { encodeReading, meterLeafHash, readingHash, rootOfLeaves } from '@meterseal/protocol';
import { leafHasher, rootOfFlatLeaves, sha256Of } from './rehash-hash.js';
import { makeReading } from './testing/fixtures.js';

t.test('reading hash and leaf hash are the protocol\'s, for any seq up to 2^64 - 1 and a reused buffer', async (t) => {
  const leafOf = leafHasher('M-hash.id_7');
  for (const seq of [0n, 1n, 255n, 1n << 32n, (1n << 63n) + 5n, (1n << 64n) - 1n]) {
    const bytes = encodeReading(makeReading('M-hash.id_7', seq));
    const keyId = new Uint8Array(8).fill(Number(seq % 251n));
    t.same(new Uint8Array(sha256Of(bytes)), readingHash(bytes), `reading hash, seq ${seq}`);
    const expected = meterLeafHash({ meterId: 'M-hash.id_7', seq, keyId, readingHash: readingHash(bytes) });
    t.same(new Uint8Array(leafOf(seq, keyId, readingHash(bytes))), expected, `leaf, seq ${seq}`);
  }
});

t.test('the bottom-up root is RFC 9162 MTH for every size from 0 to 70 leaves', async (t) => {
  const leaves = Array.from({ length: 70 }, (_, i) => new Uint8Array(32).fill(i + 1));
  const flat = new Uint8Array(70 * 32);
  leaves.forEach((l, i) => flat.set(l, i * 32));
  for (let n = 0; n <= 70; n++) t.same(rootOfFlatLeaves(flat, n), rootOfLeaves(leaves.slice(0, n)), `${n} leaves`);
});
