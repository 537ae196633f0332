// `meterseal verify` as a real process: a reading anchored in a real ledger, its receipt (GET /receipt) and
// the ledger's trust file (GET /v1/trust) written to files; one PASS line per named check and exit 0 with "OK …"
// when everything checks, exit 1 with "FAIL <check>: …" naming the check when a file is tampered with; a receipt
// without the key-status section fails unless --allow-unproven-key-status. No network is used by the command.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  encodeAnchor, encodeCosignatureVerifierKey, encodeDelivery, encodeReading, encodeSigned, encodeVerifierKey, fromBase64,
  generateKeyPair, keyId, readingHash, signRecord, toBase64, toHex, type Reading,
} from '@meterseal/protocol';
import { startTestLedger } from '@meterseal/ledger-service/testing/harness';
import { checkFiles, formatReport, verifyFiles } from './verify.js';

const BIN = fileURLToPath(new URL('../../bin/meterseal.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('meterseal verify: OK for a genuine reading, FAIL <check> for each tampered input', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-verify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { ledger, meter } = await startTestLedger(t, { meters: [{ meterId: 'M-1', customerAccount: 'A-1' }], config: { checkpointIntervalMs: 20 } });
  const m = await meter({ meterId: 'M-1', customerAccount: 'A-1' });
  await m.onboard(1n);
  const s = m.session!;
  const encoded = encodeReading({
    meterId: 'M-1', seq: 3n, meterTimeMs: null, meterIdentity: null, meterClockDeviationMin: null, meterClockStatus: null,
    agentTimeMs: 1_790_000_000_000n, clockSync: 1, status: 0,
    registers: [{ obis: '1.0.1.8.0.255', value: 4242n, scaler: 0, unit: 'Wh', raw: new Uint8Array([1]) }], salt: new Uint8Array(16).fill(4),
  } as unknown as Reading);
  const record = encodeAnchor({ meterId: 'M-1', seq: 3n, keyId: s.keyId, readingHash: readingHash(encoded) });
  const signature = signRecord(record, s.keys.secretKey);
  t.match((await m.anchor(3n, undefined, encodeSigned(record, signature))).response, { ok: true });
  const delivery = encodeDelivery({ keyId: keyId(s.keys.publicKey), reading: encoded, signature });

  const receipt = (await (await fetch(`${ledger.httpUrl}/receipt?meter=M-1&seq=3`)).json()) as Record<string, string>;
  const trust = (await (await fetch(`${ledger.httpUrl}/v1/trust`)).json()) as Record<string, unknown>;
  t.match(trust, { format: 'meterseal-trust/v1', origin: ledger.origin, ledgerVerifierKey: ledger.verifierKey, witnesses: [], quorum: 0 });
  await ledger.close(); // from here on everything is offline

  const f = (name: string, content: string | Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const reading = f('reading.bin', delivery);
  const readingHex = f('reading.hex', `${toHex(delivery)}\n`);
  const good = f('receipt.json', JSON.stringify(receipt));
  const trustFile = f('trust.json', JSON.stringify(trust));

  const ok = await run(['verify', '--reading', reading, '--receipt', good, '--trust', trustFile]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /^PASS checkpoint-signature\nPASS witness-quorum\nPASS signature\nPASS inclusion\nPASS index-proof\nPASS key-bound\nPASS key-not-revoked\n/);
  t.match(ok.stdout, /\nOK reading M-1 seq 3 is in log meterseal\.local\/ledger at leaf \d+ under checkpoint size \d+.*not revoked before it \(per-meter index proven\)\n$/);
  // in-process (the same function the command runs), to keep the number of processes small
  t.equal(verifyFiles({ reading: readingHex, receipt: good, trust: trustFile }).seq, 3n, 'the reading as hex text');
  t.throws(() => verifyFiles({ reading, receipt: f('r2.json', JSON.stringify({ ...receipt, seq: '4' })), trust: trustFile }), { code: 'CHECK_INPUT', message: /seq 4/ });
  t.throws(() => verifyFiles({ reading, receipt: good, trust: f('t3.json', JSON.stringify({ ...trust, extra: true })) }), { code: 'CHECK_INPUT', message: /trust file field/ });
  t.throws(() => verifyFiles({ reading: f('junk.bin', 'xyz'), receipt: good, trust: trustFile }), { code: 'CHECK_INPUT' });

  const lines = receipt.anchorProof!.split('\n');
  const hashAt = lines.findIndex((l) => /^[A-Za-z0-9+/]{43}=$/.test(l));
  const h = fromBase64(lines[hashAt]!);
  h[5]! ^= 0x40;
  lines[hashAt] = toBase64(h);
  const cases: Array<[string, string[], RegExp]> = [
    ['a proof hash', ['--receipt', f('r1.json', JSON.stringify({ ...receipt, anchorProof: lines.join('\n') }))], /^FAIL inclusion: the anchor's inclusion proof/m],
    ['a witness quorum the checkpoint lacks', ['--trust', f('t2.json', JSON.stringify({ ...trust, witnesses: [encodeCosignatureVerifierKey('w.test/1', generateKeyPair().publicKey)], quorum: 1 }))], /^FAIL witness-quorum: 0 of the trusted witnesses/m],
  ];
  // in-process (what the command prints, without a process each)
  const otherKey = formatReport(checkFiles({ reading, receipt: good, trust: f('t1.json', JSON.stringify({ ...trust, ledgerVerifierKey: encodeVerifierKey(ledger.origin, generateKeyPair().publicKey) })) }), false);
  t.equal(otherKey.code, 1);
  t.match(otherKey.text, /^FAIL checkpoint-signature: .*not signed/m, 'another ledger key in the trust file');
  t.match(otherKey.text, /^FAIL inclusion: not checked: the checkpoint signature did not verify/m, 'inclusion cannot be judged against an untrusted checkpoint');
  t.same(formatReport(checkFiles({ reading, receipt: join(dir, 'nope.json'), trust: trustFile }), false), { text: `FAIL input: cannot read the receipt file ${join(dir, 'nope.json')}: ENOENT: no such file or directory, open '${join(dir, 'nope.json')}'\n`, code: 1 }, 'a missing file');
  for (const [what, override, expected] of cases) {
    const args: Record<string, string> = { '--reading': reading, '--receipt': good, '--trust': trustFile };
    args[override[0]!] = override[1]!;
    const r = await run(['verify', ...Object.entries(args).flat()]);
    t.equal(r.code, 1, `${what}: exit 1`);
    t.match(r.stdout, expected, `${what}: ${r.stdout.trim()}`);
    t.match(r.stdout, /\nFAIL \d of 7 checks did not pass: /, `${what}: the verdict line`);
  }

  // an older receipt without the key-status section: everything else passes, key status is NOT proven
  t.ok(receipt.keyStatus, "the ledger's receipt has the section");
  const { keyStatus: _, ...old } = receipt;
  const oldFile = f('old.json', JSON.stringify(old));
  const strict = await run(['verify', '--reading', reading, '--receipt', oldFile, '--trust', trustFile]);
  t.equal(strict.code, 1, 'exit 1 by default');
  t.match(strict.stdout, /^PASS checkpoint-signature\nPASS witness-quorum\nPASS signature\nPASS inclusion\nFAIL index-proof: key status NOT proven: the receipt has no key-status section/);
  t.match(strict.stdout, /^FAIL key-not-revoked: key status NOT proven/m);
  t.match(strict.stdout, /\nFAIL 3 of 7 checks did not pass: index-proof, key-bound, key-not-revoked \(--allow-unproven-key-status accepts/);
  const lenient = await run(['verify', '--reading', reading, '--receipt', oldFile, '--trust', trustFile, '--allow-unproven-key-status']);
  t.equal(lenient.code, 0, 'exit 0 with --allow-unproven-key-status');
  t.match(lenient.stdout, /^UNPROVEN key-bound: key status NOT proven/m);
  t.match(lenient.stdout, /\nOK reading M-1 seq 3 .*key status NOT proven \(the receipt has no key-status section\)\n$/);
});
