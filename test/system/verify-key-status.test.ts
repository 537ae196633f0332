// `meterseal verify` proves offline that a reading's key was bound and not revoked before it (docs/protocol.md
// §10.5.1), through the real ledger: a witness cosigns (quorum 1), a meter registers, authenticates, binds a
// session key and anchors readings over MQTT; an operator revokes the meter over the admin API. Then the real CLI
// (a child process, no network) on
//   - a reading anchored BEFORE the revocation, with a receipt fetched after it: exit 0, `PASS key-not-revoked`
//     noting the later revocation (log index and reason);
//   - a reading anchored AFTER the revocation: the honest ledger refuses it (REVOKED), so we play the insider who
//     writes it into the ledger's log anyway (the ledger stopped, its own SQLite log appended to, restarted): its
//     receipt verifies in every other check, and verify exits 1 with `FAIL key-not-revoked: revoked at log index
//     N (reason "meter stolen"), before the reading's anchor at log index M`.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import {
  encodeAnchor, encodeDelivery, encodeReading, encodeRevocation, encodeSigned, generateKeyPair, issueOperatorCredential, keyId, readingHash,
  signOperatorAction, signRecord, toHex, type Reading,
} from '@meterseal/protocol';
import { LedgerLog, loadOrCreateKeys, openSqliteStore } from '@meterseal/ledger-service';
import { startTestLedger, tempDir } from '@meterseal/ledger-service/testing/harness';
import type { FakeMeter } from '@meterseal/ledger-service/testing/fake-meter';
import { startWitness } from '@meterseal/witness';
import { runMeterseal } from './harness.js';

const ORIGIN = 'meterseal.test/ledger';
const M1 = { meterId: 'M-1', customerAccount: 'ACC-1' };


/** A reading signed as the agent signs it: the anchor (the log entry) and the Delivery (what verify reads). */
function signedReading(m: FakeMeter, seq: bigint): { anchor: Uint8Array; delivery: Uint8Array; readingHash: Uint8Array } {
  const s = m.session!;
  const encoded = encodeReading({
    meterId: m.meterId, seq, meterTimeMs: null, meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null,
    agentTimeMs: 1_790_000_000_000n + seq, clockSync: 1, status: 0,
    registers: [{ obis: '1.0.1.8.0.255', value: 1000n + seq, scaler: 0, unit: 'Wh', raw: new Uint8Array([1, 2]) }], salt: new Uint8Array(16).fill(Number(seq)),
  } as unknown as Reading);
  const hash = readingHash(encoded);
  const record = encodeAnchor({ meterId: m.meterId, seq, keyId: s.keyId, readingHash: hash });
  const signature = signRecord(record, s.keys.secretKey);
  return { anchor: encodeSigned(record, signature), delivery: encodeDelivery({ keyId: keyId(s.keys.publicKey), reading: encoded, signature }), readingHash: hash };
}

/** GET /receipt, polled until a quorum checkpoint covers the anchor and (if given) log index `past`. */
async function receipt(url: string, seq: bigint, past = -1n): Promise<Record<string, unknown>> {
  for (let i = 0; i < 1500; i++) {
    const r = await fetch(`${url}/receipt?meter=M-1&seq=${seq}`);
    const body = (await r.json()) as Record<string, unknown>;
    if (r.status === 200) {
      const size = BigInt(/\n(\d+)\n/.exec(String(body.anchorProof))![1]!);
      if (size > past) return body;
    } else if ((body.error as { code: string }).code !== 'NOT_YET_COSIGNED') throw new Error(JSON.stringify(body));
    await sleep(20);
  }
  throw new Error(`no cosigned receipt for seq ${seq} past log index ${past}`);
}

t.test('meterseal verify: a reading before the revocation passes, one logged after it fails key-not-revoked', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-verify-ks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = tempDir(t);
  const ledgerKeys = loadOrCreateKeys(dataDir, ORIGIN);
  const witness = await startWitness(
    { dataDir: tempDir(t, 'meterseal-witness-'), name: 'witness.test/w1', http: { port: 0 }, logs: [{ origin: ORIGIN, verifierKey: ledgerKeys.verifierKey }] },
    { log: pino({ level: 'silent' }) },
  );
  t.teardown(() => witness.close());
  const utility = generateKeyPair();
  const operator = generateKeyPair();
  const config = {
    origin: ORIGIN, checkpointIntervalMs: 20, witnessQuorum: 1, witnesses: [{ url: witness.url, verifierKey: witness.verifierKey }],
    admin: { port: 0, utilityPublicKeys: [toHex(utility.publicKey)] },
  };
  const first = await startTestLedger(t, { dataDir, meters: [M1], config });
  const m = await first.meter(M1);
  await m.onboard(1n);
  const r1 = signedReading(m, 1n);
  const r2 = signedReading(m, 2n);
  for (const [seq, r] of [[1n, r1], [2n, r2]] as const) t.match((await m.anchor(seq, undefined, r.anchor)).response, { ok: true }, `seq ${seq} anchored`);

  // the operator revokes the meter's identity key
  const credential = issueOperatorCredential({
    operatorId: 'op-1', operatorPublicKey: operator.publicKey, roles: ['revoke'], notBeforeMs: BigInt(Date.now() - 60_000), notAfterMs: BigInt(Date.now() + 3_600_000),
  }, utility);
  const action = toHex(signOperatorAction(encodeRevocation({
    meterId: 'M-1', identityKeyId: keyId(m.identity.publicKey), reason: 'meter stolen', timeMs: BigInt(Date.now()), operatorCredential: credential,
  }), operator.secretKey));
  const revoke = await fetch(`${first.ledger.adminUrl}/v1/admin/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action }) });
  const revoked = (await revoke.json()) as { ok: boolean; leafIndex: string };
  t.match(revoked, { ok: true });
  const revokedAt = BigInt(revoked.leafIndex);
  const r3 = signedReading(m, 3n);
  t.match((await m.anchor(3n, undefined, r3.anchor)).response, { ok: false, error: { code: 'REVOKED' } }, 'the honest ledger refuses a reading after the revocation');

  const trust = await (await fetch(`${first.ledger.httpUrl}/v1/trust`)).text();
  const before = await receipt(first.ledger.httpUrl, 2n, revokedAt); // under a checkpoint that includes the revocation
  await first.ledger.close();

  // the insider: seq 3's signed anchor written into the ledger's own log after the revocation, then a restart
  const store = openSqliteStore(join(dataDir, 'ledger.sqlite'));
  const anchorAt = new LedgerLog(store, ORIGIN, ledgerKeys.noteSigner).append(r3.anchor, {
    kind: 'anchor', anchor: { meterId: 'M-1', seq: 3n, keyId: m.session!.keyId, readingHash: r3.readingHash },
  });
  store.close();
  t.ok(anchorAt > revokedAt);
  const second = await startTestLedger(t, { dataDir, config });
  const after = await receipt(second.ledger.httpUrl, 3n);
  await second.ledger.close(); // verify is offline

  const f = (name: string, content: string | Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const trustFile = f('trust.json', trust);
  const ok = await runMeterseal(['verify', '--reading', f('r2.bin', r2.delivery), '--receipt', f('receipt2.json', JSON.stringify(before)), '--trust', trustFile]);
  t.equal(ok.code, 0, `${ok.stdout}${ok.stderr}`);
  t.match(ok.stdout, /^PASS checkpoint-signature\nPASS witness-quorum\nPASS signature\nPASS inclusion\nPASS index-proof\nPASS key-bound\n/);
  t.match(ok.stdout, new RegExp(`^PASS key-not-revoked \\(identity key [0-9a-f]{16} was revoked later, at log index ${revokedAt} \\(reason "meter stolen"\\), after the reading's anchor at log index \\d+\\)$`, 'm'));
  t.match(ok.stdout, /\nOK reading M-1 seq 2 .*not revoked before it/);

  const bad = await runMeterseal(['verify', '--reading', f('r3.bin', r3.delivery), '--receipt', f('receipt3.json', JSON.stringify(after)), '--trust', trustFile]);
  t.equal(bad.code, 1, bad.stderr);
  t.match(bad.stdout, /^PASS checkpoint-signature\nPASS witness-quorum\nPASS signature\nPASS inclusion\nPASS index-proof\nPASS key-bound\n/, 'every other check passes');
  t.match(bad.stdout, new RegExp(`^FAIL key-not-revoked: revoked at log index ${revokedAt} \\(reason "meter stolen"\\), before the reading's anchor at log index ${anchorAt}$`, 'm'));
  t.match(bad.stdout, /\nFAIL 1 of 7 checks did not pass: key-not-revoked\n$/);
});
