// startWitness: the key and the state survive a restart; a witness never starts with a lost memory, with
// another key's database, or with its own key configured as a log key; configs name their bad fields.
import t from 'tap';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeVerifierKey, generateKeyPair, parseCheckpointText, parseNote, toHex } from '@meterseal/protocol';
import { tempDir } from '@meterseal/ledger-service/testing/harness';
import { parseWitnessConfig } from './config.js';
import { formatAddCheckpointRequest } from './request.js';
import { startWitness } from './service.js';
import { ledgerProof, post, silent, startGrowingLedger, startTestWitness } from './testing/harness.js';

const sizeOf = (note: string) => parseCheckpointText(parseNote(note).text).size;

t.test('restart keeps the key and the cosigned state', async (t) => {
  const L = await startGrowingLedger(t);
  const dataDir = tempDir(t, 'meterseal-witness-');
  const first = await startTestWitness(t, L.ledger, { dataDir });
  t.equal(statSync(join(dataDir, 'witness.key')).mode & 0o777, 0o600, 'witness.key is 0600');
  const cp1 = await L.grow(2);
  t.equal((await post(first.url, formatAddCheckpointRequest(0n, [], cp1))).status, 200);
  const vkey = first.verifierKey;
  await first.close();

  const second = await startTestWitness(t, L.ledger, { dataDir });
  t.equal(second.verifierKey, vkey, 'same key after restart');
  t.equal(second.latest(L.ledger.origin)?.size, sizeOf(cp1));
  t.same(await post(second.url, formatAddCheckpointRequest(0n, [], cp1)), { status: 409, type: 'text/x.tlog.size', text: `${sizeOf(cp1)}\n` },
    'a restarted witness does not start over');
  const cp2 = await L.grow(2);
  const proof = await ledgerProof(L.ledger.httpUrl, sizeOf(cp1), sizeOf(cp2));
  t.equal((await post(second.url, formatAddCheckpointRequest(sizeOf(cp1), proof, cp2))).status, 200);
});

t.test('refuses to start: lost state, another key\'s database, its own key as a log key, a bad key file', async (t) => {
  const log = generateKeyPair();
  const logs = [{ origin: 'meterseal.test/log', verifierKey: encodeVerifierKey('meterseal.test/log', log.publicKey) }];
  const dataDir = tempDir(t, 'meterseal-witness-');
  const w = await startWitness({ dataDir, http: { port: 0 }, logs }, { log: silent });
  await w.close();

  for (const f of ['witness.sqlite', 'witness.sqlite-wal', 'witness.sqlite-shm']) rmSync(join(dataDir, f), { force: true });
  await t.rejects(startWitness({ dataDir, http: { port: 0 }, logs }, { log: silent }), { code: 'STATE_LOST', message: /retire this key/ });

  rmSync(join(dataDir, 'witness.key'));
  const fresh = await startWitness({ dataDir, http: { port: 0 }, logs }, { log: silent });
  t.not(fresh.verifierKey, w.verifierKey, 'a retired key is replaced by a new witness identity');
  await fresh.close();
  writeFileSync(join(dataDir, 'witness.key'), `${toHex(generateKeyPair().secretKey)}\n`, { mode: 0o600 });
  await t.rejects(startWitness({ dataDir, http: { port: 0 }, logs }, { log: silent }), { code: 'STORE_MISMATCH' });

  const own = tempDir(t, 'meterseal-witness-');
  const seed = generateKeyPair();
  writeFileSync(join(own, 'witness.key'), `${toHex(seed.secretKey)}\n`, { mode: 0o600 });
  writeFileSync(join(own, 'witness.sqlite'), ''); // an empty file is a fresh SQLite database
  await t.rejects(
    startWitness({ dataDir: own, http: { port: 0 }, logs: [{ origin: 'x.test/log', verifierKey: encodeVerifierKey('x.test/log', seed.publicKey) }] }, { log: silent }),
    { code: 'KEY_SEPARATION' },
  );

  const badKey = tempDir(t, 'meterseal-witness-');
  writeFileSync(join(badKey, 'witness.key'), 'not hex\n');
  writeFileSync(join(badKey, 'witness.sqlite'), '');
  await t.rejects(startWitness({ dataDir: badKey, http: { port: 0 }, logs }, { log: silent }), { code: 'KEY_FILE_INVALID' });
});

t.test('config: defaults, and every bad field named', async (t) => {
  const c = parseWitnessConfig({ dataDir: '/tmp/w' });
  t.same(c, { dataDir: '/tmp/w', name: 'meterseal.local/witness', http: { host: '127.0.0.1', port: 8580 }, logs: [] });
  const vkey = encodeVerifierKey('meterseal.test/log', generateKeyPair().publicKey);
  t.throws(() => parseWitnessConfig({ dataDir: 'd', name: 'has space' }), { code: 'CONFIG_INVALID', message: /name: must contain no whitespace/ });
  t.throws(() => parseWitnessConfig({ dataDir: 'd', logs: [{ origin: 'o', verifierKey: 'nope' }] }), { message: /logs\.0\.verifierKey: not a C2SP/ });
  t.throws(() => parseWitnessConfig({ dataDir: 'd', logs: [{ origin: 'o', verifierKey: vkey }, { origin: 'o', verifierKey: vkey }] }), { message: /logs\.1\.origin: origin "o" is listed twice/ });
  t.throws(() => parseWitnessConfig({ dataDir: 'd', http: { port: 70000 } }), { message: /http\.port/ });
  t.throws(() => parseWitnessConfig({ dataDir: 'd', extra: 1 }), { message: /extra/ });
});
