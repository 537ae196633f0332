// Keys at rest (issue 5 item 10): the identity key file's mode, passphrase encryption, and the KeyStore.
import t from 'tap';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex, verifyRecord } from '@meterseal/protocol';
import { SoftwareKeyStore, signAs } from './key-store.js';
import { decryptSeed, encryptSeed, keyFileOptions, loadOrCreateKey } from './keystore.js';

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'keystore-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('a key file readable by group or others is refused; a fresh one is 0600', async (t) => {
  const d = dir(t);
  const path = join(d, 'identity.key');
  const { key, created } = loadOrCreateKey(path);
  t.ok(created);
  t.equal(readFileSync(path, 'utf8').trim(), toHex(key.secretKey));
  chmodSync(path, 0o640);
  t.throws(() => loadOrCreateKey(path), { code: 'KEY_PERMISSIONS' });
  chmodSync(path, 0o604);
  t.throws(() => loadOrCreateKey(path), { code: 'KEY_PERMISSIONS' });
  chmodSync(path, 0o600);
  t.same(loadOrCreateKey(path).key.publicKey, key.publicKey, 'the same key after a restart');
});

t.test('passphrase: the seed is encrypted at rest, and refused without or with a wrong passphrase', async (t) => {
  const d = dir(t);
  const path = join(d, 'identity.key');
  const { key } = loadOrCreateKey(path, { passphrase: 'correct horse' });
  const text = readFileSync(path, 'utf8');
  t.notOk(text.includes(toHex(key.secretKey)), 'the seed is not in the file');
  t.match(JSON.parse(text), { v: 1, kdf: 'scrypt' });
  t.same(loadOrCreateKey(path, { passphrase: 'correct horse' }).key.secretKey, key.secretKey);
  t.throws(() => loadOrCreateKey(path), { code: 'KEY_ENCRYPTED' });
  t.throws(() => loadOrCreateKey(path, { passphrase: 'wrong' }), { code: 'BAD_PASSPHRASE' });
  const f = JSON.parse(text) as Record<string, unknown>;
  const ct = f.ct as string;
  writeFileSync(path, JSON.stringify({ ...f, ct: (ct[0] === '0' ? '1' : '0') + ct.slice(1) }), { mode: 0o600 });
  t.throws(() => loadOrCreateKey(path, { passphrase: 'correct horse' }), { code: 'BAD_PASSPHRASE' }, 'a modified file fails authentication (GCM tag)');
  writeFileSync(path, JSON.stringify({ ...f, N: 2 ** 30 }), { mode: 0o600 });
  t.throws(() => loadOrCreateKey(path, { passphrase: 'correct horse' }), { code: 'BAD_KEY_FILE' }, 'a hostile scrypt cost is refused before any work');
  t.throws(() => decryptSeed('{"v":2}', 'x'), { code: 'BAD_KEY_FILE' });
  t.throws(() => encryptSeed(key.secretKey, ''), { code: 'BAD_PASSPHRASE' });
});

t.test('a plain key file is encrypted in place once a passphrase is configured', async (t) => {
  const d = dir(t);
  const path = join(d, 'identity.key');
  const { key } = loadOrCreateKey(path);
  writeFileSync(join(d, 'pass'), 'secret\n', { mode: 0o600 });
  const opts = keyFileOptions({ keyPassphraseFile: join(d, 'pass') });
  t.equal(opts.passphrase, 'secret');
  t.same(loadOrCreateKey(path, opts).key.publicKey, key.publicKey);
  t.match(readFileSync(path, 'utf8'), /^\{"v":1/);
  t.same(loadOrCreateKey(path, opts).key.publicKey, key.publicKey);
  chmodSync(join(d, 'pass'), 0o644);
  t.throws(() => keyFileOptions({ keyPassphraseFile: join(d, 'pass') }), { code: 'KEY_PERMISSIONS' });
  t.same(keyFileOptions({}), {});
});

t.test('KeyStore signs records (§2.3) without exposing the secret', async (t) => {
  const d = dir(t);
  const { key } = loadOrCreateKey(join(d, 'identity.key'));
  const ks = new SoftwareKeyStore(key);
  const record = new Uint8Array([0x07, 1, 2, 3]);
  t.ok(verifyRecord(record, ks.sign(record), ks.publicKey));
  t.same(signAs(ks, record), signAs(key, record), 'deterministic Ed25519: the same signature either way');
  t.notOk(Object.values(ks).some((v) => v instanceof Uint8Array && toHex(v) === toHex(key.secretKey)), 'no enumerable secret');
});
