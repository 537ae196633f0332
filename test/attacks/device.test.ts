// Scripted attacks around the meter agent and the ledger's operator controls, against the real ledger
// (embedded broker, SQLite) and the real agent (device/) reading a simulated meter: a revoked key used
// (T-O1), a key binding the meter never made (T-C1 cloned board), a broken inclusion promise (T-L1).
import t from 'tap';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import {
  StatusFlag, decodeDelivery, encodeRevocation, fromHex, generateKeyPair, issueOperatorCredential, keyId, openInclusionPromise, publicKeyFromSecret,
  signOperatorAction, toHex,
} from '@meterseal/protocol';
import { startLedger } from '@meterseal/ledger-service';
import { startTestLedger, tempDir } from '@meterseal/ledger-service/testing/harness';
import { FakeMeter } from '@meterseal/ledger-service/testing/fake-meter';
import { startAgent } from '@meterseal/device';
import { createInProcessLink, startDlt645Simulator, startSimulator } from '@meterseal/simulator';
import Database from 'better-sqlite3';
import { freePortFor } from './harness.js';
import { waitUntil } from '../system/harness.js';

const silent = pino({ level: 'silent' });

t.test('T-O1: a revoked identity key used afterwards is refused "revoked", on anchor and on authentication', async (t) => {
  const utility = generateKeyPair();
  const op = generateKeyPair();
  const tl = await startTestLedger(t, {
    meters: [{ meterId: 'ATK-REV-01', customerAccount: 'ACC-R1' }],
    config: { admin: { port: 0, utilityPublicKeys: [toHex(utility.publicKey)] } },
  });
  const m = await tl.meter({ meterId: 'ATK-REV-01', customerAccount: 'ACC-R1' });
  await m.onboard(1n);
  t.match((await m.anchor(1n)).response, { ok: true }, 'anchored before the revocation');
  const credential = issueOperatorCredential({
    operatorId: 'op-atk', operatorPublicKey: op.publicKey, roles: ['revoke'], notBeforeMs: BigInt(Date.now() - 60_000), notAfterMs: BigInt(Date.now() + 3_600_000),
  }, utility);
  const action = toHex(signOperatorAction(encodeRevocation({
    meterId: 'ATK-REV-01', identityKeyId: keyId(m.identity.publicKey), reason: 'board stolen', timeMs: BigInt(Date.now()), operatorCredential: credential,
  }), op.secretKey));
  const res = await fetch(`${tl.ledger.adminUrl}/v1/admin/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action }) });
  t.equal(res.status, 200, 'the operator revoked the key');
  const refused = (await m.anchor(2n)).response;
  t.match(refused, { ok: false, error: { code: 'REVOKED' } }, 'the stolen board\'s next reading (seq 2) is refused REVOKED');
  t.match(await m.authenticate(), { ok: false, reason: 'revoked' });
  t.ok((tl.ledger.stats().rejected.REVOKED ?? 0) >= 1, 'the refusal is counted under REVOKED');
});

t.test('agent attacks: a foreign key binding raises the alarm; a broken inclusion promise is reported with evidence', async (t) => {
  const dir = tempDir(t, 'meterseal-attacks-agent-');
  const L = join(dir, 'ledger');
  mkdirSync(L);
  const M = { meterId: 'ATK-AGENT-01', customerAccount: 'ACC-A1' };
  const tl = await startTestLedger(t, { meters: [M], dataDir: L });
  let ledger = tl.ledger;
  const ports = { mqtt: Number(new URL(ledger.mqttUrl).port), http: Number(new URL(ledger.httpUrl).port) };
  const agentErrors: string[] = [];
  const agentLog = pino({ level: 'error' }, { write: (l: string) => void agentErrors.push(l) });
  const link = createInProcessLink();
  const sim = await startSimulator({ seed: 7 }, { log: silent, stream: link.serverStream });
  const A = join(dir, 'agent');
  const agent = await startAgent(
    { dataDir: A, ...M, intervalMs: 3_600_000, requestTimeoutMs: 2000,
      ledger: { url: ledger.mqttUrl }, collector: { url: `mqtt://127.0.0.1:${await freePortFor()}` } },
    { log: agentLog, port: link.clientPort },
  );
  t.teardown(async () => {
    await agent.close();
    await ledger.close();
    await sim.close();
    link.close();
  });
  await agent.enrolled;
  const s1 = await agent.readNow();
  await waitUntil('the reading anchored', () => agent.stats().outbox.ledgerAcked === 1, 30_000);

  await t.test('T-C1: a key binding the meter never made (a cloned board) -> the agent alarms, naming the key', async (t) => {
    const secretKey = fromHex(readFileSync(join(A, 'identity.key'), 'utf8').trim(), 32);
    const clone = await FakeMeter.connect({ url: ledger.mqttUrl, ...M, identity: { secretKey, publicKey: publicKeyFromSecret(secretKey) } });
    t.teardown(() => clone.close());
    t.match(await clone.authenticate(), { ok: true });
    const cloneSession = generateKeyPair();
    t.match(await clone.bind(s1 + 1n, cloneSession), { ok: true }, 'the clone bound its own session key');
    t.same(agent.foreignBindings(), [], 'no alarm before the agent looks');
    await agent.rotateSessionKey();
    t.same(agent.foreignBindings(), [toHex(keyId(cloneSession.publicKey))], 'the agent names the binding it did not make');
    t.ok(agentErrors.some((l) => l.includes('ALARM') && l.includes(toHex(keyId(cloneSession.publicKey)))), 'logged at error as an ALARM');
  });

  await t.test('T-L1: an inclusion promise the ledger broke (anchor dropped from the log) -> the agent reports it with evidence', async (t) => {
    // the ledger restarts with 5 s promises, acknowledges one reading, then loses its log (same key, same ports)
    const config = { dataDir: L, mqtt: { port: ports.mqtt }, http: { port: ports.http }, checkpointIntervalMs: 50, maxMergeDelayMs: 5000 };
    await ledger.close();
    ledger = await startLedger(config, { log: silent });
    const before = agent.stats().outbox.ledgerAcked;
    const seq = await agent.readNow();
    await waitUntil('the new reading anchored', () => agent.stats().outbox.ledgerAcked > before, 30_000);
    await ledger.close();
    for (const f of ['ledger.sqlite', 'ledger.sqlite-wal', 'ledger.sqlite-shm']) rmSync(join(L, f), { force: true });
    ledger = await startLedger(config, { log: silent });
    await waitUntil('the broken promise is detected', () => agent.stats().brokenPromises >= 1, 30_000);
    t.ok(agentErrors.some((l) => l.includes('BROKEN PROMISE') && l.includes('NOT_ANCHORED')), 'reported at error with the reason');
    const evidence = readdirSync(join(A, 'evidence'));
    t.ok(evidence.includes(`broken-promise-${M.meterId}-${seq}.promise`), `evidence file names meter and seq ${seq}`);
    const promise = openInclusionPromise(new Uint8Array(readFileSync(join(A, 'evidence', `broken-promise-${M.meterId}-${seq}.promise`))), ledger.publicKey);
    t.equal(promise.seq, seq, 'the evidence is the ledger-signed promise for that seq');
  });
});

t.test('T-C3: meter clock rolled back an hour -> the signed reading carries the meter time and MeterClockDriftBeyondTolerance', async (t) => {
  const M = { meterId: 'ATK-CLOCK-01', customerAccount: 'ACC-C1' };
  const tl = await startTestLedger(t, { meters: [M] });
  const link = createInProcessLink();
  const rolledBackMs = 3_600_000;
  // a DL/T 645 meter (it has a clock: 04000101/04000102) whose clock someone set back one hour
  const sim = await startDlt645Simulator({ address: '000000000042' }, { log: silent, stream: link.serverStream, clock: () => Date.now() - rolledBackMs });
  const A = tempDir(t, 'meterseal-attacks-clock-');
  const agent = await startAgent(
    { dataDir: A, ...M, intervalMs: 3_600_000, requestTimeoutMs: 2000, serial: { protocol: 'dlt645', address: '000000000042' },
      ledger: { url: tl.ledger.mqttUrl }, collector: { url: `mqtt://127.0.0.1:${await freePortFor()}` } },
    { log: silent, port: link.clientPort },
  );
  t.teardown(async () => {
    await agent.close();
    await sim.close();
    link.close();
  });
  await agent.enrolled;
  const seq = await agent.readNow();
  const db = new Database(join(A, 'agent.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  const row = db.prepare('SELECT delivery FROM readings WHERE seq = ?').get(seq) as { delivery: Buffer };
  const reading = decodeDelivery(new Uint8Array(row.delivery)).decoded;
  t.ok(reading.meterTimeMs !== null, 'the meter\'s own time is signed into the reading');
  const drift = Number(reading.meterTimeMs! - reading.agentTimeMs);
  t.ok(drift < -3_000_000 && drift > -4_200_000, `the signed meter time is about an hour behind the agent's (${drift} ms)`);
  t.ok((reading.status & StatusFlag.MeterClockDriftBeyondTolerance) !== 0, 'located: meter ATK-CLOCK-01, seq ' + seq + ', flagged MeterClockDriftBeyondTolerance');
  await waitUntil('the flagged reading anchored', () => agent.stats().outbox.ledgerAcked === 1, 30_000);
});
