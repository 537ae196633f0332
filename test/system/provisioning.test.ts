// Issue 5 items 1-2, the tester's flow: an operator imports the meter list, a technician provisions a
// simulated meter end to end over USB serial, the operator approves a key exchange and revokes the meter.
// Real processes: a ledger (with its admin API), a simulated meter on one pty pair, an unprovisioned agent
// whose provisioning console is on a second pty pair, `meterctl` driving that console with a provisioning
// file, and `meterseal ledger import-meters|approve-exchange|revoke`. The ledger shows the registration, the
// passed authentication and the first anchored reading; after the revocation it refuses the meter's readings.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { generateKeyPair, issueOperatorCredential, issueTechnicianCredential, parseScopeEntry, toHex, type KeyPair } from '@meterseal/protocol';
import { createPtyPair, socatAvailable } from '@meterseal/simulator';
import { freePort, meterseal, waitUntil, type Proc } from './harness.js';

const METERCTL = fileURLToPath(new URL('../../meterctl/bin/meterctl.js', import.meta.url));

function meterctl(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [METERCTL, '--timeout', '60000', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

function credential(utility: KeyPair, tech: KeyPair, scope: string): string {
  const now = Date.now();
  return toHex(issueTechnicianCredential({
    technicianId: 'tech-7', technicianPublicKey: tech.publicKey, scope: [parseScopeEntry(scope)],
    notBeforeMs: BigInt(now - 60_000), notAfterMs: BigInt(now + 3_600_000),
  }, utility));
}

t.test('meterctl provisions an unprovisioned agent over a pty; the ledger shows registration, auth and the first anchor', async (t) => {
  if (!(await socatAvailable())) {
    t.plan(0, 'socat is not installed: this test needs real pty pairs');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-sys-provision-'));
  const L = join(dir, 'ledger');
  const A = join(dir, 'agent');
  mkdirSync(L);
  const [ledgerMqtt, ledgerHttp, collectorMqtt, adminPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const meterLine = await createPtyPair();
  const consoleLine = await createPtyPair();
  const procs: Proc[] = [];
  t.teardown(async () => {
    for (const p of procs.reverse()) await p.stop('SIGKILL');
    await meterLine.close();
    await consoleLine.close();
  });
  const start = (args: string[]): Proc => {
    const p = meterseal(args);
    procs.push(p);
    return p;
  };

  const utility = generateKeyPair();
  const tech = generateKeyPair();
  writeFileSync(join(dir, 'tech.cred'), credential(utility, tech, 'M-1') + '\n');
  writeFileSync(join(dir, 'rogue.cred'), credential(generateKeyPair(), tech, '*') + '\n'); // not the utility's signature
  writeFileSync(join(dir, 'tech.key'), toHex(tech.secretKey) + '\n', { mode: 0o600 });
  writeFileSync(join(dir, 'meter.json'), JSON.stringify({
    meterId: 'M-1', customerAccount: 'ACC-1', ledgerUrl: `mqtt://127.0.0.1:${ledgerMqtt}`, collectorUrl: `mqtt://127.0.0.1:${collectorMqtt}`,
  }));
  writeFileSync(join(dir, 'agent.json'), JSON.stringify({
    dataDir: A, serial: { path: meterLine.b }, intervalMs: 3_600_000,
    console: { path: consoleLine.a, utilityPublicKeys: [toHex(utility.publicKey)], registerTimeoutMs: 60_000 },
  }));

  // the operator: a credential from the utility, and the ledger's admin API trusting the utility key
  const operator = generateKeyPair();
  writeFileSync(join(dir, 'op.cred'), toHex(issueOperatorCredential({
    operatorId: 'op-1', operatorPublicKey: operator.publicKey, roles: ['import-meters', 'revoke', 'approve-exchange'],
    notBeforeMs: BigInt(Date.now() - 60_000), notAfterMs: BigInt(Date.now() + 3_600_000),
  }, utility)) + '\n');
  writeFileSync(join(dir, 'op.key'), toHex(operator.secretKey) + '\n', { mode: 0o600 });
  writeFileSync(join(dir, 'ledger.json'), JSON.stringify({ admin: { port: adminPort, utilityPublicKeys: [toHex(utility.publicKey)] } }));
  const ledger = start(['ledger', '--config', join(dir, 'ledger.json'), '--data-dir', L, '--mqtt-port', String(ledgerMqtt), '--http-port', String(ledgerHttp)]);
  await ledger.waitFor('ledger ready', 60_000);
  const admin = async (...args: string[]) => {
    const p = meterseal(['ledger', ...args, '--admin', `http://127.0.0.1:${adminPort}`, '--credential', join(dir, 'op.cred'), '--operator-key', join(dir, 'op.key')]);
    const code = await p.exited;
    return { code, out: p.stdout(), err: p.lines.join('\n') };
  };
  writeFileSync(join(dir, 'bad.csv'), 'meter_id,customer_account,model,site\nM-1,ACC-1,DDSU666,SITE-1\nM 2,ACC-2,DDSU666,SITE-1\n');
  const badImport = await admin('import-meters', join(dir, 'bad.csv'));
  t.equal(badImport.code, 1, 'a CSV with a bad line is refused');
  t.match(badImport.err, /line 3: meter_id must be/);
  writeFileSync(join(dir, 'meters.csv'), 'meter_id,customer_account,model,site\nM-1,ACC-1,DDSU666,SITE-1\n');
  const imported = await admin('import-meters', join(dir, 'meters.csv'));
  t.equal(imported.code, 0, imported.err);
  t.match(imported.out, /imported 1 meter\(s\): M-1/);
  t.match((await admin('import-meters', join(dir, 'meters.csv'))).out, /imported 0 meter\(s\); 1 already whitelisted/, 'importing twice changes nothing')
  const sim = start(['sim', '--port', meterLine.a, '--seed', '3']);
  await sim.waitFor('sim running', 60_000);
  const agent = start(['agent', '--config', join(dir, 'agent.json'), '--data-dir', A]); // the CLI's default --data-dir wins over the file's
  await agent.waitFor('not provisioned yet', 60_000);

  const port = ['--port', consoleLine.b];
  const st0 = await meterctl([...port, '--json', 'status']);
  t.equal(st0.code, 0, st0.err);
  t.match(JSON.parse(st0.out), { ok: true, meterId: null, agent: { running: false, enrolled: false } }, 'an unprovisioned agent answers on its console');

  // refusals: a state-changing command without a technician, and a credential the utility did not sign
  const unsigned = await meterctl([...port, '--json', 'set-meter-id', 'M-1']);
  t.equal(unsigned.code, 1);
  t.match(JSON.parse(unsigned.out), { ok: false, error: { code: 'AUTH_REQUIRED' } });
  const rogue = await meterctl([...port, '--key', join(dir, 'tech.key'), '--credential', join(dir, 'rogue.cred'), 'provision', join(dir, 'meter.json')]);
  t.equal(rogue.code, 1, 'a credential not signed by the utility key in the agent config is refused');
  t.match(rogue.err, /stopped at step 1 \(auth\)/);
  const read0 = await meterctl([...port, '--json', 'read']);
  t.match(JSON.parse(read0.out), { ok: false, error: { code: 'NOT_PROVISIONED' } }, 'no reading before provisioning');

  const prov = await meterctl([...port, '--key', join(dir, 'tech.key'), '--credential', join(dir, 'tech.cred'), 'provision', join(dir, 'meter.json')]);
  t.equal(prov.code, 0, prov.out + prov.err);
  t.match(prov.out, /\[5\/5\] register … ok\nprovisioned M-1/);

  const status = JSON.parse((await meterctl([...port, '--json', 'status'])).out) as Record<string, unknown>;
  t.match(status, { ok: true, meterId: 'M-1', customerAccount: 'ACC-1', agent: { running: true, enrolled: true } });
  const fp = JSON.parse((await meterctl([...port, '--json', 'fingerprint'])).out) as { publicKey: string; keyId: string };

  // the ledger: registration with the agent's identity key, and a passed authentication followed by a binding
  const meters = (await (await fetch(`http://127.0.0.1:${ledgerHttp}/v1/meters`)).json()) as { meters: { meterId: string; bindings: number }[] };
  t.match(meters.meters, [{ meterId: 'M-1' }], 'the registration is on the ledger');
  const db = new Database(join(L, 'ledger.sqlite'), { readonly: true, fileMustExist: true });
  t.teardown(() => db.close());
  const reg = db.prepare('SELECT identity_pub FROM meters WHERE meter_id = ?').get('M-1') as { identity_pub: Buffer };
  t.equal(toHex(reg.identity_pub), fp.publicKey, 'registered with the key the console shows');
  const auths = db.prepare('SELECT count(*) AS n FROM auth_passes WHERE meter_id = ?').get('M-1') as { n: number };
  t.ok(auths.n >= 1, 'the passed authentication is in the ledger');
  t.ok((db.prepare('SELECT count(*) AS n FROM bindings WHERE meter_id = ?').get('M-1') as { n: number }).n >= 1, 'and a session key bound');

  // one reading taken over the console is anchored in the ledger
  const read = await meterctl([...port, '--json', 'read']);
  t.equal(read.code, 0, read.out + read.err);
  const seq = (JSON.parse(read.out) as { reading: { seq: string } }).reading.seq;
  let anchors: { seq: string }[] = [];
  await waitUntil('the reading is anchored', async () => {
    const r = (await (await fetch(`http://127.0.0.1:${ledgerHttp}/v1/anchors?meter=M-1&from=0&to=100`)).json()) as { anchors: { seq: string }[] };
    anchors = r.anchors;
    return anchors.some((a) => a.seq === seq);
  }, 60_000);
  t.ok(anchors.some((a) => a.seq === seq), `reading ${seq} is anchored`);

  // rotate-key: a new identity key, which the ledger refuses until an operator approves the exchange
  const signedCmd = (...words: string[]) => meterctl([...port, '--json', '--key', join(dir, 'tech.key'), '--credential', join(dir, 'tech.cred'), ...words]);
  const rot = await signedCmd('rotate-key');
  t.equal(rot.code, 0, rot.out + rot.err);
  t.not((JSON.parse(rot.out) as { keyId: string }).keyId, fp.keyId, 'rotate-key makes a new identity key');
  const again = await signedCmd('register');
  t.match(JSON.parse(again.out), { ok: false, error: { code: 'KEY_MISMATCH' } }, 'the ledger refuses the new key for a registered meter');
  const newKey = (JSON.parse(rot.out) as { publicKey: string }).publicKey;
  const approved = await admin('approve-exchange', 'M-1', '--key', newKey);
  t.equal(approved.code, 0, approved.err);
  t.match(approved.out, /exchange of M-1 approved/);
  t.match(JSON.parse((await signedCmd('register')).out), { ok: true, result: { meterId: 'M-1', enrolled: true } }, 'after the operator approved the exchange the new key registers');

  // revocation: the meter's later readings are refused by the ledger with REVOKED and counted
  const revoked = await admin('revoke', 'M-1', '--reason', 'meter stolen');
  t.equal(revoked.code, 0, revoked.err);
  t.match(revoked.out, /M-1 revoked/);
  const late = await meterctl([...port, '--json', 'read']);
  t.equal(late.code, 0, 'the agent still takes the reading');
  await waitUntil('the ledger refused the revoked meter\'s reading', async () => {
    const st = (await (await fetch(`http://127.0.0.1:${ledgerHttp}/v1/stats`)).json()) as { rejected: Record<string, number> };
    return (st.rejected.REVOKED ?? 0) >= 1;
  }, 60_000);
  t.pass('a reading after the revocation is refused with REVOKED');

  // factory reset only with a confirmation; it forgets the settings, the key and (moved aside) the outbox
  const reset = JSON.parse((await signedCmd('factory-reset')).out) as { ok: boolean; token: string };
  t.ok(reset.ok);
  t.match(JSON.parse((await signedCmd('confirm', 'ffffffff')).out), { ok: false, error: { code: 'BAD_TOKEN' } }, 'a wrong token cancels the reset');
  t.match((await meterctl([...port, '--json', 'status'])).out, /"meterId":"M-1"/, 'nothing was reset');
  const reset2 = JSON.parse((await signedCmd('factory-reset')).out) as { token: string };
  t.match(JSON.parse((await signedCmd('confirm', reset2.token)).out), { ok: true, reset: true });
  t.match(JSON.parse((await meterctl([...port, '--json', 'status'])).out), { ok: true, meterId: null, agent: { running: false } });
  t.ok(readdirSync(A).some((f) => f.startsWith('agent.sqlite.factory-reset-')), 'the old outbox is kept aside, not sent under a new id');

  // every command is audited on the agent, with the technician named on the signed ones
  const audit = readFileSync(join(A, 'console-audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(audit.find((e) => e.cmd === 'register' && e.ok === true), { technician: 'tech-7' });
  t.ok(audit.some((e) => e.cmd === 'set-meter-id' && e.ok === false && e.code === 'AUTH_REQUIRED'), 'refusals are audited too');
});
