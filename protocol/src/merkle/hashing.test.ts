// leafHash / nodeHash (RFC 9162 §2.1.1) hash through reused scratch buffers: every length (including ones that
// grow the scratch) gives SHA-256(prefix ‖ data) computed the plain way, and a returned hash never aliases the
// scratch (a later call does not change an earlier answer).
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { leafHash, nodeHash } from './hashing.js';

const plain = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

t.test('leafHash = SHA-256(0x00 ‖ d) for every length, across scratch growth', async (t) => {
  for (const n of [0, 1, 31, 32, 154, 510, 511, 512, 513, 1023, 5000, 70_000, 3]) {
    const d = randomBytes(n);
    t.same(leafHash(d), plain(Uint8Array.of(0), d), `${n} bytes`);
  }
});

t.test('nodeHash = SHA-256(0x01 ‖ left ‖ right), also for inputs that are not 32 bytes', async (t) => {
  const l = randomBytes(32);
  const r = randomBytes(32);
  t.same(nodeHash(l, r), plain(Uint8Array.of(1), l, r));
  const odd = randomBytes(5);
  t.same(nodeHash(odd, r), plain(Uint8Array.of(1), odd, r), 'a 5-byte left side');
});

t.test('answers are copies: a later call leaves an earlier result unchanged', async (t) => {
  const a = leafHash(Uint8Array.of(1, 2, 3));
  const keep = Uint8Array.from(a);
  leafHash(Uint8Array.of(9, 9, 9));
  t.same(a, keep, 'leafHash');
  const n1 = nodeHash(new Uint8Array(32), new Uint8Array(32).fill(1));
  const keepN = Uint8Array.from(n1);
  nodeHash(new Uint8Array(32).fill(7), new Uint8Array(32).fill(8));
  t.same(n1, keepN, 'nodeHash');
  t.equal(Object.getPrototypeOf(a), Uint8Array.prototype, 'a plain Uint8Array, not a Buffer view');
});
