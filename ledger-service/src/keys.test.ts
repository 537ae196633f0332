import t from 'tap';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseVerifierKey, publicKeyFromSecret, toHex } from '@meterseal/protocol';
import { loadOrCreateKeys, publishKeys } from './keys.js';
import { tempDir } from './testing/harness.js';

t.test('created on first start with mode 0600, reused afterwards', async (t) => {
  const dir = join(tempDir(t), 'data');
  const k1 = loadOrCreateKeys(dir, 'example.org/log');
  publishKeys(dir, k1);
  t.equal(statSync(join(dir, 'ledger.key')).mode & 0o777, 0o600);
  t.equal(statSync(join(dir, 'account-salt')).mode & 0o777, 0o600);
  t.match(readFileSync(join(dir, 'ledger.key'), 'utf8'), /^[0-9a-f]{64}\n$/);
  t.same(publicKeyFromSecret(k1.secretKey), k1.publicKey);
  t.equal(readFileSync(join(dir, 'ledger.pub'), 'utf8'), `${toHex(k1.publicKey)}\n`);
  t.equal(readFileSync(join(dir, 'ledger.vkey'), 'utf8'), `${k1.verifierKey}\n`);
  const v = parseVerifierKey(k1.verifierKey);
  t.equal(v.name, 'example.org/log');
  t.same(v.publicKey, k1.publicKey);
  t.equal(k1.accountSalt.length, 32);
  t.notSame(k1.accountSalt, k1.secretKey);

  const k2 = loadOrCreateKeys(dir, 'example.org/log');
  t.same(k2.secretKey, k1.secretKey);
  t.same(k2.accountSalt, k1.accountSalt);
  t.equal(k2.verifierKey, k1.verifierKey);
});

t.test('a damaged key file is refused', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'ledger.key'), 'not hex\n', { mode: 0o600 });
  t.throws(() => loadOrCreateKeys(dir, 'o'), { code: 'KEY_FILE_INVALID', message: /ledger\.key must hold exactly 64/ });
});
