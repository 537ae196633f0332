// The operator admin API against a real ledger (embedded broker, SQLite, HTTP): revocation, meter exchange,
// import-meters, each with its refusals, the log entries and the audit file.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeMeterExchangeApproval, decodeRevocation, encodeMeterExchangeApproval, encodeRevocation, fromHex, generateKeyPair,
  issueOperatorCredential, keyId, signOperatorAction, signOperatorRequest, splitSigned, toHex, type KeyPair, type OperatorRole,
} from '@meterseal/protocol';
import { openSqliteStore } from './sqlite-store.js';
import { startTestLedger } from './testing/harness.js';

const utility = generateKeyPair();
const op = generateKeyPair();
const cred = (roles: OperatorRole[], who = op, issuer = utility) => issueOperatorCredential({
  operatorId: 'op-1', operatorPublicKey: who.publicKey, roles, notBeforeMs: BigInt(Date.now() - 60_000), notAfterMs: BigInt(Date.now() + 3_600_000),
}, issuer);
const ALL = cred(['revoke', 'approve-exchange', 'import-meters']);

async function ledgerWithAdmin(t: Test) {
  const tl = await startTestLedger(t, {
    meters: [{ meterId: 'M-1', customerAccount: 'ACC-1' }, { meterId: 'M-2', customerAccount: 'ACC-2' }],
    config: { admin: { port: 0, utilityPublicKeys: [toHex(utility.publicKey)] } },
  });
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${tl.ledger.adminUrl}/v1/admin/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as { ok: boolean; error?: { code: string; lines?: { line: number; message: string }[] } } & Record<string, unknown> };
  };
  return { ...tl, post };
}

const revocation = (meterId: string, identity: Uint8Array, o: { reason?: string; timeMs?: number; credential?: Uint8Array; signer?: KeyPair } = {}) =>
  toHex(signOperatorAction(encodeRevocation({
    meterId, identityKeyId: keyId(identity), reason: o.reason ?? 'meter stolen', timeMs: BigInt(o.timeMs ?? Date.now()), operatorCredential: o.credential ?? ALL,
  }), (o.signer ?? op).secretKey));

t.test('revoke: refused without the right credential; then logged, and later anchors refused with REVOKED', async (t) => {
  const { ledger, dataDir, meter, post } = await ledgerWithAdmin(t);
  const m = await meter({ meterId: 'M-1', customerAccount: 'ACC-1' });
  await m.onboard(1n);
  t.match((await m.anchor(1n)).response, { ok: true });
  const pub = m.identity.publicKey;

  t.match(await post('revoke', { action: revocation('M-1', pub, { credential: cred(['import-meters']) }) }), { status: 403, body: { ok: false, error: { code: 'NOT_PERMITTED' } } });
  const rogue = generateKeyPair();
  t.match(await post('revoke', { action: revocation('M-1', pub, { credential: cred(['revoke'], rogue, rogue) , signer: rogue }) }), { status: 401, body: { error: { code: 'UNKNOWN_ISSUER' } } }, 'a credential the utility did not issue');
  t.match(await post('revoke', { action: revocation('M-1', pub, { signer: generateKeyPair() }) }), { status: 401, body: { error: { code: 'BAD_SIGNATURE' } } }, 'not signed by the operator key');
  t.match(await post('revoke', { action: revocation('M-1', pub, { timeMs: Date.now() - 3_600_000 }) }), { status: 401, body: { error: { code: 'STALE_REQUEST' } } }, 'outside the replay window');
  t.match(await post('revoke', { action: revocation('M-1', generateKeyPair().publicKey) }), { status: 409, body: { error: { code: 'STALE' } } }, 'names a key the meter does not have');
  t.match(await post('revoke', { action: revocation('NOPE-1', pub) }), { status: 404, body: { error: { code: 'UNKNOWN_METER' } } });
  t.match(await post('revoke', { action: 'zz' }), { status: 400, body: { error: { code: 'BAD_REQUEST' } } });
  const before = ledger.stats().treeSize;

  const action = revocation('M-1', pub, { reason: 'tamper alarm' });
  const ok = await post('revoke', { action });
  t.match(ok, { status: 200, body: { ok: true, meterId: 'M-1', already: false, operatorId: 'op-1' } });
  const again = await post('revoke', { action });
  t.match(again, { status: 200, body: { ok: true, already: true, leafIndex: ok.body.leafIndex } }, 'replaying it changes nothing');
  t.equal(ledger.stats().treeSize, before + 1, 'one Revocation entry');

  const refused = (await m.anchor(2n)).response;
  t.match(refused, { ok: false, error: { code: 'REVOKED' } }, 'a later reading is refused with reason revoked');
  t.ok((ledger.stats().rejected.REVOKED ?? 0) >= 1, 'and flagged in the rejection counts');
  t.match(await m.authenticate(), { ok: false, reason: 'revoked' }, 'authentication fails with reason revoked (and is logged)');
  t.match(await m.register(), { ok: false, error: { code: 'REVOKED' } });

  const store = openSqliteStore(join(dataDir, 'ledger.sqlite'), { readonly: true });
  t.teardown(() => store.close());
  const entry = store.getEntry(BigInt(ok.body.leafIndex as string))!;
  t.equal(entry[0], 0x09, 'the log holds the Revocation record');
  t.equal(decodeRevocation(splitSigned(entry).record).reason, 'tamper alarm');
  const status = (await (await fetch(`${ledger.adminUrl}/v1/admin/meters/M-1`)).json()) as Record<string, unknown>;
  t.match(status, { revoked: { reason: 'tamper alarm' } });
  const audit = readFileSync(join(dataDir, 'operator-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(audit.length, 9, 'every command, refused or not, is audited');
  t.match(audit[0], { op: 'revoke', ok: false, code: 'NOT_PERMITTED' });
});

t.test('meter exchange: a new key is refused until an operator approves exactly it', async (t) => {
  const { ledger, meter, post } = await ledgerWithAdmin(t);
  const old = await meter({ meterId: 'M-2', customerAccount: 'ACC-2' });
  await old.onboard(1n);
  t.match((await old.anchor(1n)).response, { ok: true });
  const replacement = await meter({ meterId: 'M-2', customerAccount: 'ACC-2' });
  t.match(await replacement.register(), { ok: false, error: { code: 'KEY_MISMATCH' } });

  const approval = (newKey: Uint8Array, credential = ALL) => toHex(signOperatorAction(encodeMeterExchangeApproval({
    meterId: 'M-2', oldIdentityKeyId: keyId(old.identity.publicKey), newIdentityPublicKey: newKey, timeMs: BigInt(Date.now()), operatorCredential: credential,
  }), op.secretKey));
  t.match(await post('approve-exchange', { action: approval(replacement.identity.publicKey, cred(['revoke'])) }), { status: 403, body: { error: { code: 'NOT_PERMITTED' } } });
  t.match(await post('approve-exchange', { action: approval(old.identity.publicKey) }), { status: 409, body: { error: { code: 'SAME_KEY' } } });
  const someoneElse = generateKeyPair();
  t.match(await post('approve-exchange', { action: approval(someoneElse.publicKey) }), { status: 200, body: { ok: true } });
  t.match(await replacement.register(), { ok: false, error: { code: 'KEY_MISMATCH' } }, 'an approval of another key does not let this one in');

  const ok = await post('approve-exchange', { action: approval(replacement.identity.publicKey) });
  t.match(ok, { status: 200, body: { ok: true, already: false } });
  t.match(await replacement.register(), { ok: true }, 'the approved key registers');
  await replacement.authenticate();
  t.match(await replacement.bind(2n), { ok: true });
  t.match((await replacement.anchor(2n)).response, { ok: true }, 'and anchors under its own session key');
  t.match(await old.register(), { ok: false, error: { code: 'KEY_MISMATCH' } }, 'the old key is now the stranger');
  t.match(await post('approve-exchange', { action: approval(generateKeyPair().publicKey) }), { status: 409, body: { error: { code: 'STALE' } } },
    'an approval naming the replaced key cannot be replayed after the exchange');
  const status = (await (await fetch(`${ledger.adminUrl}/v1/admin/meters/M-2`)).json()) as { identityPublicKey: string; events: { event: string }[] };
  t.equal(status.identityPublicKey, toHex(replacement.identity.publicKey));
  t.equal(status.events.filter((e) => e.event === 'exchange-approved').length, 2);
  t.equal(decodeMeterExchangeApproval(splitSigned(fromHex(approval(replacement.identity.publicKey))).record).meterId, 'M-2');
});

t.test('import-meters: line errors, all or nothing, idempotent, signed and not replayable', async (t) => {
  const { dataDir, post, meter } = await ledgerWithAdmin(t);
  const request = (csv: string, o: { credential?: Uint8Array; nonce?: Uint8Array; timeMs?: number } = {}) => {
    const nonce = o.nonce ?? new Uint8Array(randomBytes(16));
    const timeMs = BigInt(o.timeMs ?? Date.now());
    return {
      csv, timeMs: timeMs.toString(), nonce: toHex(nonce), credential: toHex(o.credential ?? ALL),
      signature: toHex(signOperatorRequest('import-meters', timeMs, nonce, new TextEncoder().encode(csv), op.secretKey)),
    };
  };
  const bad = 'meter_id,customer_account,model,site\nM-10,ACC-10,DDSU666,SITE-1\nbad id,ACC-11,DDSU666,SITE-1\nM-12,ACC-12,DDSU666\nM-10,ACC-13,X,SITE-1\n';
  const r1 = await post('import-meters', request(bad));
  t.equal(r1.status, 422);
  t.same(r1.body.error?.lines?.map((l) => l.line), [3, 4, 5], 'each bad line by its number');
  t.match(r1.body.error?.lines?.[0]?.message, /meter_id/);
  t.match(r1.body.error?.lines?.[2]?.message, /already on line 2/);
  const before = readFileSync(join(dataDir, 'whitelist.json'), 'utf8');
  t.equal(readFileSync(join(dataDir, 'whitelist.json'), 'utf8'), before, 'nothing imported');

  const good = 'meter_id,customer_account,model,site\r\nM-10,ACC-10,DDSU666,SITE-1\r\nM-11,ACC-11,DDSU666,SITE-1\r\nM-1,ACC-1,DDSU666,SITE-1\r\n';
  const r2 = await post('import-meters', request(good));
  t.match(r2, { status: 200, body: { ok: true, added: ['M-10', 'M-11'], written: true } });
  const after = readFileSync(join(dataDir, 'whitelist.json'), 'utf8');
  const r3 = await post('import-meters', request(good));
  t.match(r3, { status: 200, body: { ok: true, added: [], unchanged: 3, written: false } });
  t.equal(readFileSync(join(dataDir, 'whitelist.json'), 'utf8'), after, 'importing twice changes nothing');
  const m = await meter({ meterId: 'M-11', customerAccount: 'ACC-11' });
  t.match(await m.register(), { ok: true }, 'an imported meter can register');

  t.match(await post('import-meters', request('meter_id,customer_account,model,site\nM-1,ACC-9,DDSU666,SITE-1\n')), { status: 422, body: { error: { lines: [{ line: 2 }] } } },
    'another account for a whitelisted meter is an error');
  const replay = request(good);
  t.match(await post('import-meters', replay), { status: 200 });
  t.match(await post('import-meters', replay), { status: 409, body: { error: { code: 'REPLAYED' } } });
  t.match(await post('import-meters', { ...request(good), csv: good + 'M-99,ACC-99,X,S\n' }), { status: 401, body: { error: { code: 'BAD_SIGNATURE' } } }, 'the signature covers the CSV');
  t.match(await post('import-meters', request(good, { credential: cred(['revoke']) })), { status: 403, body: { error: { code: 'NOT_PERMITTED' } } });
});
