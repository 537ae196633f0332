import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, issueTechnicianCredential, parseScopeEntry, toHex } from '@meterseal/protocol';
import { provisioningConsole } from '@meterseal/device';
import { createPtyPair, socatAvailable } from '@meterseal/simulator';
import { formatAnswer } from './format.js';
import { listPorts } from './ports.js';

const bin = fileURLToPath(new URL('../bin/meterctl.js', import.meta.url));
const pty = (await socatAvailable()) ? {} : { skip: 'socat is not installed' };

function meterctl(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

t.test('ports falls back to a /dev scan when serialport cannot list', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dev-'));
  for (const n of ['ttyUSB1', 'ttyUSB0', 'ttyGS0', 'ttyACM10', 'ttyACM2', 'tty1', 'ttyUSB']) writeFileSync(join(dir, n), '');
  const r = await listPorts({ list: async () => { throw new Error('spawn udevadm ENOENT'); }, dir });
  t.equal(r.source, 'dev-scan');
  t.match(r.note, /udevadm/);
  t.same(r.ports.map((p) => p.path.slice(dir.length + 1)), ['ttyACM2', 'ttyACM10', 'ttyGS0', 'ttyUSB0', 'ttyUSB1']);
  t.same(await listPorts({ list: async () => [{ path: '/dev/ttyX' }] }), { ports: [{ path: '/dev/ttyX' }], source: 'serialport' });
});

t.test('formatAnswer is readable', async (t) => {
  t.equal(formatAnswer({ ok: false, cmd: 'x', error: { code: 'UNKNOWN_COMMAND', message: 'unknown command "x"' } }), '✗ x: UNKNOWN_COMMAND — unknown command "x"');
  t.equal(formatAnswer({ ok: true, cmd: 'status', meterId: 'M-1', technician: null }), '✓ status\n  meterId: M-1\n  technician: -');
});

t.test('meterctl provisions an agent console over a real pty pair', pty, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterctl-'));
  const data = join(dir, 'agent');
  mkdirSync(data);
  const utility = generateKeyPair();
  const tech = generateKeyPair();
  const now = Date.now();
  const credential = (scope: string) => toHex(issueTechnicianCredential({
    technicianId: 'tech-7', technicianPublicKey: tech.publicKey, scope: [parseScopeEntry(scope)],
    notBeforeMs: BigInt(now - 60_000), notAfterMs: BigInt(now + 3_600_000),
  }, utility));
  writeFileSync(join(dir, 'cred'), credential('DDSU666-000001') + '\n');
  writeFileSync(join(dir, 'other.cred'), credential('DDSU666-999999') + '\n');
  writeFileSync(join(dir, 'tech.key'), toHex(tech.secretKey) + '\n', { mode: 0o600 });
  const plan = { meterId: 'DDSU666-000001', customerAccount: 'ACC-1000', ledgerUrl: 'mqtt://ledger.example:1883', collectorUrl: 'mqtt://collector.example:1884' };
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan));
  writeFileSync(join(dir, 'other.json'), JSON.stringify({ ...plan, meterId: 'DDSU666-999999' }));

  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const registered: string[] = [];
  const settings = provisioningConsole.FileSettingsStore.inDataDir(data);
  const identity = generateKeyPair().publicKey;
  const console = await provisioningConsole.openSerialConsole({ path: pair.a }, {
    identityPublicKey: () => identity, settings,
    readOnce: async () => ({ seq: 1n }),
    register: async () => { registered.push(settings.get().meterId!); return { registrationIndex: 0n }; },
    rotateKey: async () => identity,
  }, { trustedIssuers: [utility.publicKey], auditLogPath: join(data, 'console-audit.log') });
  t.teardown(() => console.close());

  const common = ['--port', pair.b, '--key', join(dir, 'tech.key')];
  const ok = await meterctl([...common, '--credential', join(dir, 'cred'), 'provision', join(dir, 'plan.json')]);
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, /\[1\/5\] auth <credential> … ok\n\[2\/5\] set-meter-id DDSU666-000001 … ok\n[^]*\[5\/5\] register … ok\nprovisioned DDSU666-000001/);
  t.same(registered, ['DDSU666-000001']);
  t.match(JSON.parse(readFileSync(join(data, 'console-settings.json'), 'utf8')), plan);

  const status = await meterctl(['--port', pair.b, '--json', 'status']);
  t.equal(status.code, 0, status.err);
  t.match(JSON.parse(status.out), { ok: true, cmd: 'status', meterId: 'DDSU666-000001', technician: { id: 'tech-7' } });
  const human = await meterctl(['--port', pair.b, 'fingerprint']);
  t.match(human.out, /^✓ fingerprint\n  fingerprint: [0-9a-f:]+\n/);

  // a credential for another meter: stops at the first refused step, naming it and the console's answer line
  const bad = await meterctl([...common, '--credential', join(dir, 'other.cred'), 'provision', join(dir, 'other.json')]);
  t.equal(bad.code, 1);
  t.match(bad.out, /\[1\/5\] auth <credential> … FAILED/);
  t.match(bad.err, /stopped at step 1 \(auth\): OUT_OF_SCOPE[^]*console answered: \{"ok":false,"cmd":"auth"/);
  t.same(registered, ['DDSU666-000001'], 'nothing more was registered');

  const unknown = await meterctl(['--port', pair.b, 'frobnicate']);
  t.equal(unknown.code, 1);
  t.match(unknown.out, /UNKNOWN_COMMAND — unknown command "frobnicate"/);
  const signedOne = await meterctl([...common, '--credential', join(dir, 'cred'), 'set-account', 'ACC-2000']);
  t.equal(signedOne.code, 0, signedOne.out + signedOne.err);
  t.equal(settings.get().customerAccount, 'ACC-2000');
  t.match(readFileSync(join(data, 'console-audit.log'), 'utf8'), /"cmd":"set-account","technician":"tech-7","ok":true/);
});
