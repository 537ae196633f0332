// Registration over a real embedded broker with a real mqtt.js client playing the meter.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  RegisterResponse, ResponseBody, accountCommitment, decodeIdentityCertificate, decodeRegistration, fromHex, generateKeyPair,
  keyId, toHex, verifyRecord,
} from '@meterseal/protocol';
import { openSqliteStore } from './sqlite-store.js';
import { startTestLedger, writeWhitelist } from './testing/harness.js';

const METERS = [
  { meterId: 'DDSU666-000001', customerAccount: 'ACC-1001' },
  { meterId: 'DDSU666-000002', customerAccount: 'ACC-1002' },
];

t.test('registration: certificate verifies with ledger.pub; Registration entry holds only a commitment', async (t) => {
  const { ledger, dataDir, meter } = await startTestLedger(t, { meters: METERS });
  const m = await meter(METERS[0]!);
  const r = await m.register();
  t.ok(ResponseBody.safeParse(r).success, 'a protocol ResponseBody');
  t.ok(RegisterResponse.safeParse(r).success, 'a protocol RegisterResponse');
  t.match(r, { op: 'register', ref: 'register', ok: true });

  const pub = fromHex(readFileSync(join(dataDir, 'ledger.pub'), 'utf8').trim(), 32);
  t.same(pub, ledger.publicKey);
  t.equal(r.ledgerPublicKey, toHex(pub));
  const certBytes = fromHex(r.certificate as string);
  t.ok(verifyRecord(certBytes, fromHex(r.certificateSignature as string, 64), pub), 'certificate signed by the ledger key');
  const cert = decodeIdentityCertificate(certBytes);
  t.equal(cert.meterId, METERS[0]!.meterId);
  t.same(cert.identityPublicKey, m.identity.publicKey);
  t.equal(cert.logOrigin, ledger.origin);
  t.equal(cert.registrationIndex, 0n);

  const store = openSqliteStore(join(dataDir, 'ledger.sqlite'), { readonly: true });
  t.teardown(() => store.close());
  t.equal(store.treeSize(), 1n);
  const reg = decodeRegistration(store.getEntry(0n)!);
  t.equal(reg.meterId, METERS[0]!.meterId);
  t.same(reg.identityPublicKey, m.identity.publicKey);
  const salt = fromHex(readFileSync(join(dataDir, 'account-salt'), 'utf8').trim(), 32);
  t.same(reg.accountCommitment, accountCommitment(salt, 'ACC-1001'), 'salted account commitment');
  t.notOk(Buffer.from(store.getEntry(0n)!).includes('ACC-1001'), 'no customer account in the log');

  const again = await m.register();
  t.same(again, r, 'same meter, same key: the same certificate');
  t.equal(store.treeSize(), 1n, 'and no new entry');
  t.equal(ledger.stats().registrations, 1);
});

t.test('refusals: not whitelisted, wrong account, another key, bad self-signature', async (t) => {
  const { ledger, dataDir, meter } = await startTestLedger(t, { meters: METERS });
  const stranger = await meter({ meterId: 'NOT-LISTED-9', customerAccount: 'ACC-1001' });
  const r1 = await stranger.register();
  t.match(r1, { op: 'register', ref: 'register', ok: false, error: { code: 'NOT_WHITELISTED' } });
  const wrongAccount = await meter({ ...METERS[1]!, customerAccount: 'ACC-9999' });
  t.match(await wrongAccount.register(), { ok: false, error: { code: 'NOT_WHITELISTED' } });
  t.equal(ledger.stats().treeSize, 0, 'nothing appended');

  const m = await meter(METERS[1]!);
  t.match(await m.register({ signWith: generateKeyPair().secretKey }), { ok: false, error: { code: 'BAD_SIGNATURE' } });
  t.match(await m.register(), { ok: true });
  const other = await meter({ ...METERS[1]!, identity: generateKeyPair() });
  const r = await other.register();
  t.match(r, { ok: false, error: { code: 'KEY_MISMATCH', message: new RegExp(toHex(keyId(m.identity.publicKey))) } });

  t.same(ledger.stats().rejected, { NOT_WHITELISTED: 2, BAD_SIGNATURE: 1, KEY_MISMATCH: 1 });
  t.equal(ledger.stats().treeSize, 1);

  // The whitelist is re-read when it changes: no restart needed.
  writeWhitelist(dataDir, [...METERS, { meterId: 'NOT-LISTED-9', customerAccount: 'ACC-1001-new' }]);
  t.match(await stranger.register({ customerAccount: 'ACC-1001-new' }), { ok: true });
  writeFileSync(join(dataDir, 'whitelist.json'), '{ broken');
  t.match(await meter(METERS[0]!).then((x) => x.register()), { ok: true }, 'a broken edit keeps the previous list');
});
