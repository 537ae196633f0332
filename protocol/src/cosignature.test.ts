import t from 'tap';
import { fromBase64, fromHex, toHex } from './bytes.js';
import { generateKeyPair } from './ed25519.js';
import { encodeVerifierKey, noteSigner, parseNote, parseVerifierKey, signNote } from './note.js';
import { signCheckpoint } from './checkpoint.js';
import {
  cosignatureKeyHash, cosignatureMessage, cosignatureSigner, countWitnesses, encodeCosignatureVerifierKey,
  parseCosignatureVerifierKey, verifyCosignature,
} from './cosignature.js';
import { readJson } from './test-helpers.js';

interface Vector {
  logVkey: string;
  witnessName: string;
  witnessSeedHex: string;
  witnessVkey: string;
  cases: Array<{ body: string; timestamp: string; signedMessage: string; cosignatureLine: string; note: string }>;
}
const vec = readJson<Vector>('cosignature/meterseal-cosignature-v1.json');
const BODY = 'meterseal.test/log\n7\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';

t.test('frozen vector (self-generated with pyca/cryptography): byte-for-byte lines, vkey and verification', async (t) => {
  const signer = cosignatureSigner(vec.witnessName, fromHex(vec.witnessSeedHex, 32));
  t.equal(encodeCosignatureVerifierKey(vec.witnessName, signer.publicKey), vec.witnessVkey);
  const verifier = parseCosignatureVerifierKey(vec.witnessVkey);
  t.same(verifier.publicKey, signer.publicKey);
  const log = parseVerifierKey(vec.logVkey);
  for (const c of vec.cases) {
    t.equal(new TextDecoder().decode(cosignatureMessage(c.body, BigInt(c.timestamp))), c.signedMessage, `message at ${c.timestamp}`);
    t.equal(signer.signCosignature(c.body, BigInt(c.timestamp)), c.cosignatureLine, `line at ${c.timestamp}`);
    t.same(verifyCosignature(c.note, verifier), { timestamp: BigInt(c.timestamp) });
    t.equal(countWitnesses(c.note, [verifier]), 1);
    t.notOk(parseNote(c.note).signatures.every((s) => s.name !== log.name), 'the note also carries the log signature');
  }
});

t.test('published facts: the spec example line and a real witness vkey (type 0x04)', async (t) => {
  // c2sp.org/tlog-cosignature example; no key is published, so only the framing is checkable
  const blob = fromBase64('jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==');
  t.equal(blob.length, 4 + 8 + 64);
  t.equal(toHex(blob.slice(0, 4)), '8d66cf3f');
  t.equal(new DataView(blob.buffer, blob.byteOffset + 4, 8).getBigUint64(0), 1679315147n);
  // transparency-dev/formats note_cosigv1_test.go: a deployed witness's cosignature/v1 vkey
  const remora = parseCosignatureVerifierKey('remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2');
  t.equal(toHex(remora.keyHash), 'da77ade7');
  t.equal(encodeCosignatureVerifierKey('remora.n621.de', remora.publicKey), 'remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2');
});

t.test('round trip, and every mutation is refused', async (t) => {
  const kp = generateKeyPair();
  const w = cosignatureSigner('witness.test/w1', kp.secretKey);
  const v = parseCosignatureVerifierKey(encodeCosignatureVerifierKey('witness.test/w1', kp.publicKey));
  const logSigner = noteSigner('meterseal.test/log', generateKeyPair().secretKey);
  const note = signNote(BODY, [logSigner]);
  const line = w.signCosignature(BODY, 1_700_000_000);
  const cosigned = note + line;
  t.same(verifyCosignature(cosigned, v), { timestamp: 1700000000n });
  t.throws(() => verifyCosignature(note, v), { code: 'NO_COSIGNATURE' }, 'no cosignature at all');
  t.throws(() => verifyCosignature(cosigned.replace('\n7\n', '\n8\n'), v), { code: 'NO_COSIGNATURE' }, 'another body');
  t.throws(() => verifyCosignature(cosigned, v, { notAfterSeconds: 1_699_999_999 }), { code: 'NO_COSIGNATURE' }, 'from the future');

  const blob = fromBase64(line.split(' ')[2]!.trimEnd());
  const relined = (b: Uint8Array, name = 'witness.test/w1') => `${note}\u2014 ${name} ${Buffer.from(b).toString('base64')}\n`;
  const later = blob.slice();
  later[11]! ^= 1; // the timestamp is signed
  t.throws(() => verifyCosignature(relined(later), v), { code: 'NO_COSIGNATURE' }, 'timestamp changed');
  t.throws(() => verifyCosignature(relined(blob.slice(0, 70)), v), { code: 'NO_COSIGNATURE' }, 'truncated');
  t.throws(() => verifyCosignature(relined(blob, 'witness.test/w2'), v), { code: 'NO_COSIGNATURE' }, 'other name');
  const top = blob.slice();
  top[4] = 0x80; // timestamp >= 2^63
  t.throws(() => verifyCosignature(relined(top), v), { code: 'NO_COSIGNATURE' });

  // a plain Ed25519 note signature (type 0x01) by the same key is not a cosignature, and vice versa
  const plain = signNote(BODY, [noteSigner('witness.test/w1', kp.secretKey)]);
  t.throws(() => verifyCosignature(plain, v), { code: 'NO_COSIGNATURE' });
  t.notSame(toHex(cosignatureKeyHash('witness.test/w1', kp.publicKey)), toHex(noteSigner('witness.test/w1', kp.secretKey).keyHash));
  t.throws(() => parseCosignatureVerifierKey(encodeVerifierKey('witness.test/w1', kp.publicKey)), { code: 'BAD_VKEY' });
});

t.test('countWitnesses: distinct valid witnesses, by key', async (t) => {
  const ws = [0, 1, 2].map((i) => ({ i, kp: generateKeyPair() }));
  const signers = ws.map(({ i, kp }) => cosignatureSigner(`w${i}.test`, kp.secretKey));
  const verifiers = ws.map(({ i, kp }) => parseCosignatureVerifierKey(encodeCosignatureVerifierKey(`w${i}.test`, kp.publicKey)));
  const note = signCheckpoint({ origin: 'meterseal.test/log', size: 7n, root: new Uint8Array(32), extensions: [] }, noteSigner('meterseal.test/log', generateKeyPair().secretKey));
  const body = parseNote(note).text;
  t.equal(countWitnesses(note, verifiers), 0);
  const two = note + signers[0]!.signCosignature(body, 10) + signers[2]!.signCosignature(body, 11) + signers[2]!.signCosignature(body, 12);
  t.equal(countWitnesses(two, verifiers), 2, 'w2 signing twice counts once');
  t.same(verifyCosignature(two, verifiers[2]!), { timestamp: 12n }, 'the latest of its timestamps');
  const alias = parseCosignatureVerifierKey(encodeCosignatureVerifierKey('alias.test', ws[0]!.kp.publicKey));
  const aliasLine = cosignatureSigner('alias.test', ws[0]!.kp.secretKey).signCosignature(body, 13);
  t.equal(countWitnesses(two + aliasLine, [...verifiers, alias]), 2, 'one key under two names counts once');
  const forged = note + cosignatureSigner('w1.test', generateKeyPair().secretKey).signCosignature(body, 10);
  t.equal(countWitnesses(forged, verifiers), 0, 'right name, wrong key');
});

t.test('hostile input gets typed errors', async (t) => {
  const kp = generateKeyPair();
  const good = encodeCosignatureVerifierKey('w.test', kp.publicKey);
  for (const bad of ['', 'a+b', 'w.test+00000000+' + good.split('+').slice(2).join('+'), good.slice(0, -4), good.replace('+B', '+A'),
    'w test+' + good.split('+').slice(1).join('+'), 'x'.repeat(2000), 'w.test+' + good.split('+')[1] + '+BA' + 'A'.repeat(42)]) {
    t.throws(() => parseCosignatureVerifierKey(bad), { name: 'ProtocolError' }, JSON.stringify(bad.slice(0, 40)));
  }
  t.throws(() => parseCosignatureVerifierKey(123 as unknown as string), { code: 'BAD_VKEY' });
  const s = cosignatureSigner('w.test', kp.secretKey);
  t.throws(() => s.signCosignature('not a checkpoint\n', 1), { code: 'BAD_CHECKPOINT' });
  t.throws(() => s.signCosignature(BODY, -1), { code: 'BAD_TIMESTAMP' });
  t.throws(() => s.signCosignature(BODY, 1.5), { code: 'BAD_TIMESTAMP' });
  t.throws(() => s.signCosignature(BODY, 1n << 63n), { code: 'BAD_TIMESTAMP' });
  t.throws(() => cosignatureSigner('bad name', kp.secretKey), { code: 'BAD_KEY_NAME' });
  const v = parseCosignatureVerifierKey(good);
  for (const bad of ['', 'text\n', BODY + '\n\u2014 w.test !!!\n', BODY + '\n\u2014 w.test AAAA\n', 'x'.repeat(70000)]) {
    t.throws(() => verifyCosignature(bad, v), { name: 'ProtocolError' }, JSON.stringify(bad.slice(0, 30)));
    t.throws(() => countWitnesses(bad, [v]), { name: 'ProtocolError' });
  }
});
