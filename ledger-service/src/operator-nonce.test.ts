// Operator request nonces survive a restart (issue 5): a signed import-meters request accepted before the
// ledger restarts is refused as REPLAYED after it, within the replay window; the nonce file keeps only
// live nonces and tolerates a torn last line.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, issueOperatorCredential, signOperatorRequest, toHex } from '@meterseal/protocol';
import { NonceWindow } from './operator-auth.js';
import { OPERATOR_NONCE_FILE } from './operator.js';
import { startTestLedger, tempDir } from './testing/harness.js';

const utility = generateKeyPair();
const op = generateKeyPair();
const credential = issueOperatorCredential({
  operatorId: 'op-1', operatorPublicKey: op.publicKey, roles: ['import-meters'], notBeforeMs: BigInt(Date.now() - 60_000), notAfterMs: BigInt(Date.now() + 3_600_000),
}, utility);

function importRequest(csv: string): Record<string, string> {
  const nonce = new Uint8Array(randomBytes(16));
  const timeMs = BigInt(Date.now());
  return {
    csv, timeMs: timeMs.toString(), nonce: toHex(nonce), credential: toHex(credential),
    signature: toHex(signOperatorRequest('import-meters', timeMs, nonce, new TextEncoder().encode(csv), op.secretKey)),
  };
}

t.test('a request accepted before a restart is REPLAYED after it', async (t) => {
  const dataDir = tempDir(t);
  const config = { admin: { port: 0, utilityPublicKeys: [toHex(utility.publicKey)] } };
  const post = async (adminUrl: string, body: unknown) => {
    const r = await fetch(`${adminUrl}/v1/admin/import-meters`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as { ok: boolean; error?: { code: string } } };
  };
  const request = importRequest('meter_id,customer_account,model,site\nM-1,ACC-1,DDSU666,SITE-1\n');
  const first = await startTestLedger(t, { dataDir, meters: [], config });
  t.match(await post(first.ledger.adminUrl!, request), { status: 200, body: { ok: true } }, 'accepted once');
  t.match(await post(first.ledger.adminUrl!, request), { status: 409, body: { error: { code: 'REPLAYED' } } }, 'refused again at once');
  await first.ledger.close();
  t.equal(statSync(join(dataDir, OPERATOR_NONCE_FILE)).mode & 0o777, 0o600, 'nonce file mode 0600');

  const second = await startTestLedger(t, { dataDir, config });
  t.match(await post(second.ledger.adminUrl!, request), { status: 409, body: { error: { code: 'REPLAYED' } } }, 'still refused after the restart');
  t.match(await post(second.ledger.adminUrl!, importRequest('meter_id,customer_account,model,site\nM-2,ACC-2,DDSU666,SITE-1\n')), { status: 200 }, 'a fresh request is accepted');
});

t.test('the nonce file: expired nonces dropped on load, a torn line ignored, the window bounded', async (t) => {
  const file = join(tempDir(t), 'nonces.jsonl');
  const w = new NonceWindow(1000, 100, file, 0);
  t.ok(w.use('aa', 0));
  t.ok(w.use('bb', 500));
  t.notOk(w.use('aa', 600), 'used within the window');
  appendFileSync(file, '{"n":"cc","ex'); // a crash in the middle of a write
  const back = new NonceWindow(1000, 100, file, 1200); // 'aa' expired at 1000, 'bb' lives until 1500
  t.same(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).n), ['bb'], 'rewritten with the live nonces only');
  t.notOk(back.use('bb', 1300), 'a live nonce is still refused');
  t.ok(back.use('aa', 1300), 'an expired one is forgotten (the request is STALE by time anyway)');
  writeFileSync(file, '{"n":"../x","exp":99999}\n{"n":"dd","exp":"soon"}\n');
  const hostile = new NonceWindow(1000, 100, file, 0);
  t.ok(hostile.use('dd', 0), 'malformed entries are not loaded');
});
