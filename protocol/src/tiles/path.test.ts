import t from 'tap';
import fc from 'fast-check';
import { ProtocolError } from '../errors.js';
import { MAX_BUNDLED_ENTRY, encodeEntryBundle, parseEntryBundle } from './bundle.js';
import { entryBundlePath, parseTilePath, tilePath } from './path.js';

const U64_MAX = (1n << 64n) - 1n;

t.test('tilePath writes the c2sp.org/tlog-tiles paths', async (t) => {
  t.equal(tilePath(0, 1234067n), 'tile/0/x001/x234/067', "the spec's own example");
  t.equal(tilePath(0, 0n), 'tile/0/000');
  t.equal(tilePath(3, 999n), 'tile/3/999');
  t.equal(tilePath(1, 1000n), 'tile/1/x001/000');
  t.equal(tilePath(0, 1_000_000n, 17), 'tile/0/x001/x000/000.p/17');
  t.equal(tilePath(2, 5n, 255), 'tile/2/005.p/255');
  t.equal(tilePath(63, U64_MAX, 256), 'tile/63/x018/x446/x744/x073/x709/x551/615');
  t.equal(tilePath('entries', 42n, 3), 'tile/entries/042.p/3');
  t.equal(entryBundlePath(1234067n), 'tile/entries/x001/x234/067');
  for (const [level, index, width] of [[64, 0n, 256], [-1, 0n, 256], [0.5, 0n, 256], [0, -1n, 256], [0, 1n << 64n, 256], [0, 0n, 0], [0, 0n, 257], [0, 0n, 1.5]] as const) {
    t.throws(() => tilePath(level, index, width), { code: 'BAD_TILE' }, `${level} ${index} ${width}`);
  }
  t.throws(() => tilePath(0, 5 as unknown as bigint), { code: 'BAD_TILE' }, 'a number index');
});

t.test('parseTilePath reads tiles and entry bundles', async (t) => {
  t.same(parseTilePath('tile/0/x001/x234/067'), { kind: 'hashes', level: 0, index: 1234067n, width: 256 });
  t.same(parseTilePath('tile/1/005.p/17'), { kind: 'hashes', level: 1, index: 5n, width: 17 });
  t.same(parseTilePath('tile/entries/000.p/1'), { kind: 'entries', index: 0n, width: 1 });
  t.same(parseTilePath('tile/entries/x001/000'), { kind: 'entries', index: 1000n, width: 256 });
  t.same(parseTilePath('tile/63/x018/x446/x744/x073/x709/x551/615.p/255'), { kind: 'hashes', level: 63, index: U64_MAX, width: 255 });
});

t.test('parseTilePath refuses every non-canonical or hostile path with BAD_TILE_PATH', async (t) => {
  const hostile = [
    '', 'tile', 'tile/', 'tile/0', 'tile/0/', '/tile/0/000', 'TILE/0/000', 'tiles/0/000', 'tile//000',
    'tile/00/000', 'tile/01/000', 'tile/64/000', 'tile/-1/000', 'tile/+1/000', 'tile/1e1/000', 'tile/0x1/000', 'tile/ 1/000',
    'tile/0/0', 'tile/0/00', 'tile/0/0000', 'tile/0/-01', 'tile/0/+01', 'tile/0/ 01', 'tile/0/0x1', 'tile/0/%30%30%30',
    'tile/0/\u0660\u0660\u0660', 'tile/0/００1', 'tile/0/001/002', 'tile/0/x001', 'tile/0/x000/001', 'tile/0/x000/x001/002',
    'tile/0/X001/002', 'tile/0/xx01/002', 'tile/0/001/', 'tile/0/001//', 'tile/0/x001//002',
    'tile/0/000.p', 'tile/0/000.p/', 'tile/0/000.p/0', 'tile/0/000.p/00', 'tile/0/000.p/01', 'tile/0/000.p/256',
    'tile/0/000.p/1000', 'tile/0/000.p/-1', 'tile/0/000.p/5/6', 'tile/0/000.P/5', 'tile/0/000.p.p/5', 'tile/0/.p/5',
    'tile/0/x001.p/5/000', 'tile/0/000?x=1', 'tile/0/000#f', 'tile/0/000\n', 'tile/0/000\u0000',
    'tile/entries', 'tile/entries/', 'tile/entries/00', 'tile/entries/000.p/256', 'tile/entries/entries/000',
    'tile/0/x018/x446/x744/x073/x709/x551/616', // 2^64
    'tile/0/x999/x999/x999/x999/x999/x999/999',
    'tile/0/x001/x001/x001/x001/x001/x001/x001/001', // 8 groups
    `tile/0/${'x001/'.repeat(5000)}001`, 'tile/0/' + '0'.repeat(100_000),
  ];
  for (const p of hostile) t.throws(() => parseTilePath(p), { code: 'BAD_TILE_PATH' }, JSON.stringify(p.slice(0, 60)));
  t.throws(() => parseTilePath(undefined as unknown as string), { code: 'BAD_TILE_PATH' });
});

t.test('property: tilePath and parseTilePath round-trip; any other string is refused, never crashes', async (t) => {
  const coord = fc.record({
    level: fc.oneof(fc.constant<'entries'>('entries'), fc.integer({ min: 0, max: 63 })),
    index: fc.bigInt({ min: 0n, max: U64_MAX }),
    width: fc.integer({ min: 1, max: 256 }),
  });
  fc.assert(fc.property(coord, ({ level, index, width }) => {
    const p = parseTilePath(tilePath(level, index, width));
    return p.index === index && p.width === width && (p.kind === 'entries' ? level === 'entries' : p.level === level);
  }));
  const pathish = fc.array(fc.constantFrom('tile', 'entries', '/', 'x', '0', '1', '9', '.p', '00', '256', '.', '-', 'x0'), { maxLength: 20 }).map((a) => a.join(''));
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 80 }), pathish), (s) => {
    try {
      const p = parseTilePath(s);
      return tilePath(p.kind === 'entries' ? 'entries' : p.level, p.index, p.width) === s;
    } catch (err) {
      return err instanceof ProtocolError && err.code === 'BAD_TILE_PATH';
    }
  }), { numRuns: 3000 });
});

t.test('entry bundles: uint16 big-endian length-prefixed entries', async (t) => {
  const a = new Uint8Array([1, 2, 3]);
  const bundle = encodeEntryBundle([a, new Uint8Array(0), new Uint8Array(300).fill(7)]);
  t.same([...bundle.subarray(0, 7)], [0, 3, 1, 2, 3, 0, 0]);
  t.same([...bundle.subarray(7, 9)], [1, 44], '300 = 0x012c, big-endian');
  t.equal(bundle.length, 2 + 3 + 2 + 2 + 300);
  const back = parseEntryBundle(bundle, 3);
  t.same(back.map((e) => e.length), [3, 0, 300]);
  t.same(back[0], a);
  t.equal(parseEntryBundle(encodeEntryBundle(Array.from({ length: 256 }, () => a))).length, 256);
  t.equal(parseEntryBundle(encodeEntryBundle([new Uint8Array(MAX_BUNDLED_ENTRY)]))[0]!.length, MAX_BUNDLED_ENTRY);

  t.throws(() => encodeEntryBundle([]), { code: 'BAD_ENTRY_BUNDLE' });
  t.throws(() => encodeEntryBundle(Array.from({ length: 257 }, () => a)), { code: 'BAD_ENTRY_BUNDLE' });
  t.throws(() => encodeEntryBundle([new Uint8Array(MAX_BUNDLED_ENTRY + 1)]), { code: 'ENTRY_TOO_LONG' });
  t.throws(() => encodeEntryBundle(['x' as unknown as Uint8Array]), { code: 'BAD_ENTRY_BUNDLE' });

  const bad: Array<[Uint8Array, string]> = [
    [new Uint8Array(0), 'empty'],
    [new Uint8Array([0]), 'half a length prefix'],
    [new Uint8Array([0, 3, 1, 2]), 'truncated entry'],
    [new Uint8Array([0, 3, 1, 2, 3, 0]), 'trailing byte'],
    [new Uint8Array([0xff, 0xff]), 'a length beyond the end'],
    [new Uint8Array(2 * 257), '257 empty entries'],
  ];
  for (const [bytes, what] of bad) t.throws(() => parseEntryBundle(bytes), { code: 'BAD_ENTRY_BUNDLE' }, what);
  t.throws(() => parseEntryBundle(bundle, 4), { code: 'BAD_ENTRY_BUNDLE' }, 'another count than the path named');
  t.throws(() => parseEntryBundle(null as unknown as Uint8Array), { code: 'BAD_ENTRY_BUNDLE' });
});

t.test('property: entry bundles round-trip, and arbitrary bytes parse or throw BAD_ENTRY_BUNDLE', async (t) => {
  const entries = fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 300 });
  fc.assert(fc.property(entries, (es) => {
    if (es.length > 256) return (() => { try { encodeEntryBundle(es); return false; } catch (e) { return (e as ProtocolError).code === 'BAD_ENTRY_BUNDLE'; } })();
    const back = parseEntryBundle(encodeEntryBundle(es), es.length);
    return back.length === es.length && back.every((b, i) => Buffer.compare(b, es[i]!) === 0);
  }));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
    try {
      const es = parseEntryBundle(bytes);
      return Buffer.compare(encodeEntryBundle(es), bytes) === 0;
    } catch (err) {
      return err instanceof ProtocolError && err.code === 'BAD_ENTRY_BUNDLE';
    }
  }), { numRuns: 2000 });
});
