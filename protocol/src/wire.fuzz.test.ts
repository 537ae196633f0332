// Fuzzing the protocol parsers that records.fuzz.test.ts does not reach (issue 8 item 2): the JSON answers of the
// ledger's read API (index leaves, anchors, tree children — meter-index-api.ts), receipts and their key-status
// section (docs/protocol.md §10.5), trust files (§10.6), signed-record splitting, inclusion promises, key events,
// previous-log records, compact range edges, and tlog-tiles paths and entry bundles (c2sp.org/tlog-tiles).
// Every input gives a value or a ProtocolError with a string code; never another exception, never a hang.
import t from 'tap';
import fc from 'fast-check';
import * as p from './index.js';
import { fuzzParams, mutateBytes, valueOrTyped } from './fuzz-runs.js';

const typed = (f: () => unknown) => valueOrTyped(p.ProtocolError, f);
const hexOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));
const b64Of = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('base64'));
const u64ish = fc.oneof(fc.bigInt({ min: -1n, max: 1n << 65n }).map(String), fc.constantFrom('0', '01', '-0', '1e3', '18446744073709551616', ''), fc.integer(), fc.constant(null));
const field = fc.oneof(u64ish, hexOf(8), hexOf(32), b64Of(32), fc.string({ maxLength: 60 }), fc.jsonValue({ maxDepth: 1 }));
const objectWith = (keys: string[]) => fc.dictionary(fc.constantFrom(...keys), field, { maxKeys: keys.length });
const json = (keys: string[]) => fc.oneof(fc.jsonValue({ maxDepth: 2 }), objectWith(keys), objectWith(keys).map((o) => JSON.stringify(o)), fc.string({ maxLength: 100 }));

t.test('read-API answers: parseWireIndexLeaf, parseWireAnchor, parseWireChild give a value or a ProtocolError', async (t) => {
  const keys = ['meterId', 'treeSize', 'treeRoot', 'keyEventsSize', 'keyEventsRoot', 'seq', 'keyId', 'readingHash', 'start', 'end', 'hash', 'firstSeq', 'lastSeq'];
  fc.assert(fc.property(json(keys), (v) => typed(() => p.parseWireIndexLeaf(v)) && typed(() => p.parseWireAnchor(v, 'M-1')) && typed(() => p.parseWireChild(v))), fuzzParams(2000));
  t.pass('typed');
});

t.test('receipts, key-status sections and trust files give a value or a ProtocolError', async (t) => {
  const receiptKeys = ['format', 'meterId', 'seq', 'anchorEntry', 'anchorProof', 'bindingEntry', 'bindingProof', 'certificate', 'certificateSignature', 'keyStatus'];
  const statusKeys = ['format', 'indexProof', 'keyEvents', 'revocations'];
  const trustKeys = ['format', 'origin', 'ledgerVerifierKey', 'witnesses', 'quorum'];
  const withFormat = (keys: string[], format: string) => objectWith(keys).map((o) => ({ ...o, format }));
  fc.assert(
    fc.property(fc.oneof(json(receiptKeys), withFormat(receiptKeys, 'meterseal-receipt/v1'), withFormat(receiptKeys, 'meterseal-receipt/v1').map((o) => JSON.stringify(o))), (v) => typed(() => p.parseReceipt(v))),
    fuzzParams(1000),
  );
  fc.assert(fc.property(fc.oneof(json(statusKeys), withFormat(statusKeys, 'meterseal-key-status/v1')), (v) => typed(() => p.parseKeyStatus(v))), fuzzParams(1000));
  fc.assert(fc.property(fc.oneof(json(trustKeys), withFormat(trustKeys, 'meterseal-trust/v1'), withFormat(trustKeys, 'meterseal-trust/v1').map((o) => JSON.stringify(o))), (v) => typed(() => p.parseTrustFile(v))), fuzzParams(1000));
  t.pass('typed');
});

t.test('binary: splitSigned, openInclusionPromise, decodeKeyEvent, decodePreviousLog, decodeEdge give a value or a ProtocolError', async (t) => {
  const ledger = p.generateKeyPair();
  const promise = p.signInclusionPromise({
    logOrigin: 'meterseal.test/ledger', meterId: 'M-1', seq: 3n, anchorHash: new Uint8Array(32).fill(2), readingHash: new Uint8Array(32).fill(1),
    leafIndex: 9n, issuedAtMs: 1_800_000_000_000n, deadlineMs: 1_800_000_060_000n,
  }, ledger.secretKey);
  t.doesNotThrow(() => p.openInclusionPromise(promise, ledger.publicKey), 'the seed promise opens');
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.nat(), fc.nat(), fc.nat(255)).map(([o, a, v]) => mutateBytes(promise, o, a, v)),
    fc.tuple(fc.constantFrom(...Array.from({ length: 32 }, (_, i) => i)), fc.uint8Array({ maxLength: 200 })).map(([type, rest]) => Uint8Array.from([type, 1, ...rest])),
  );
  fc.assert(
    fc.property(bytes, fc.bigInt({ min: -1n, max: 1n << 64n }), (b, size) =>
      typed(() => p.splitSigned(b)) && typed(() => p.openInclusionPromise(b, ledger.publicKey)) && typed(() => p.decodeKeyEvent(b)) && typed(() => p.decodePreviousLog(b)) && typed(() => p.decodeEdge(size, b)),
    ),
    fuzzParams(2000),
  );
  t.pass('typed');
});

t.test('tlog-tiles: parseTilePath and parseEntryBundle give a value or a ProtocolError', async (t) => {
  const seg = fc.oneof(fc.constantFrom('tile', 'entries', '0', '1', '63', '64', '000', '001', 'x001', 'x000', '255', '256', '.p', '1.p', '000.p', '01', ''), fc.nat(300).map(String), fc.string({ maxLength: 6 }));
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.array(seg, { maxLength: 8 }).map((s) => s.join('/'))), (path) => typed(() => p.parseTilePath(path))), fuzzParams(2000));
  const bundle = p.encodeEntryBundle([new Uint8Array(10).fill(1), new Uint8Array(0), new Uint8Array(300).fill(2)]);
  t.equal(p.parseEntryBundle(bundle, 3).length, 3, 'the seed bundle parses');
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.tuple(fc.nat(), fc.nat(), fc.nat(255)).map(([o, a, v]) => mutateBytes(bundle, o, a, v))), fc.option(fc.integer({ min: -1, max: 300 })), (b, n) =>
      typed(() => p.parseEntryBundle(b, n ?? undefined)),
    ),
    fuzzParams(2000),
  );
  t.pass('typed');
});
