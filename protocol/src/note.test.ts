import t from 'tap';
import { fromBase64 } from './bytes.js';
import { generateKeyPair } from './ed25519.js';
import { encodeVerifierKey, noteSignedBy, noteSigner, parseNote, parseVerifierKey, signNote } from './note.js';
import { formatCheckpoint, openCheckpoint, parseCheckpointText, signCheckpoint } from './checkpoint.js';
import { EMPTY_ROOT } from './merkle/hashing.js';
import { readJson } from './test-helpers.js';

const go = readJson<{ vkey: string; skey: string; text: string; signatureLine: string }>('note/go-sumdb-note.json');
const goSeed = fromBase64(go.skey.split('+').slice(4).join('+')).slice(1); // PRIVATE+KEY+name+hash+base64(0x01||seed)

t.test('C2SP signed-note: reproduces the Go reference note byte for byte and verifies it', async (t) => {
  const signer = noteSigner('PeterNeumann', goSeed);
  t.equal(signNote(go.text, [signer]), `${go.text}\n${go.signatureLine}`);
  const verifier = parseVerifierKey(go.vkey);
  t.equal(encodeVerifierKey('PeterNeumann', verifier.publicKey), go.vkey, 'verifier key round-trips');
  t.ok(noteSignedBy(parseNote(`${go.text}\n${go.signatureLine}`), verifier));
  t.notOk(noteSignedBy(parseNote(`${go.text.replace('cryptography', 'cryptographY')}\n${go.signatureLine}`), verifier));
});

t.test('verifier keys: manglings are refused', async (t) => {
  t.throws(() => parseVerifierKey(go.vkey.replace('c74f20a3', 'c74f20a4')), { code: 'BAD_VKEY' });
  t.throws(() => parseVerifierKey(go.vkey.slice(0, -2)));
  t.throws(() => parseVerifierKey('Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'));
  t.throws(() => parseVerifierKey('a+b'), { code: 'BAD_VKEY' });
});

t.test('hostile notes get typed errors', async (t) => {
  for (const bad of ['', 'no newline', 'text\n', 'text\n\n', 'text\n\nsig line\n', 'text\n\n\u2014 name !!!\n', 'x'.repeat(70000) + '\n\n']) {
    t.throws(() => parseNote(bad), { name: 'ProtocolError' }, JSON.stringify(bad.slice(0, 20)));
  }
});

t.test('C2SP tlog-checkpoint: format, parse, sign, open', async (t) => {
  const kp = generateKeyPair();
  const signer = noteSigner('meterseal.test/log', kp.secretKey);
  const verifier = parseVerifierKey(encodeVerifierKey('meterseal.test/log', kp.publicKey));
  const cp = { origin: 'meterseal.test/log', size: 0n, root: EMPTY_ROOT, extensions: [] };
  t.equal(formatCheckpoint(cp), 'meterseal.test/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n');
  const note = signCheckpoint({ ...cp, size: 42n, extensions: ['ext line'] }, signer);
  const opened = openCheckpoint(note, verifier, 'meterseal.test/log');
  t.equal(opened.size, 42n);
  t.same(opened.extensions, ['ext line']);
  t.throws(() => openCheckpoint(note, verifier, 'other/log'), { code: 'WRONG_ORIGIN' });
  t.throws(() => openCheckpoint(note.replace('\n42\n', '\n43\n'), verifier), { code: 'BAD_SIGNATURE' });
  for (const bad of ['o\n01\nAAAA\n', 'o\n-1\n' + 'x\n', 'o\n1\n' + 'AAAA\n', '\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n', 'o\n99999999999999999999\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n']) {
    t.throws(() => parseCheckpointText(bad), { code: 'BAD_CHECKPOINT' }, JSON.stringify(bad));
  }
});
