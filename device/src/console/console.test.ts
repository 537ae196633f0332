import t from 'tap';
import fc from 'fast-check';
import { Duplex, PassThrough } from 'node:stream';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, generateKeyPair, issueTechnicianCredential, parseScopeEntry, signConsoleCommand, toHex } from '@meterseal/protocol';
import { attachConsole, FileSettingsStore, type ConsoleAgent } from './index.js';

const utility = generateKeyPair();
const tech = generateKeyPair();
const T0 = 1_800_000_000_000;
const cred = (scope = ['M-1'], hours = 8) => toHex(issueTechnicianCredential({
  technicianId: 'tech-7', technicianPublicKey: tech.publicKey, scope: scope.map(parseScopeEntry),
  notBeforeMs: BigInt(T0), notAfterMs: BigInt(T0 + hours * 3_600_000),
}, utility));

function rig() {
  const dir = mkdtempSync(join(tmpdir(), 'console-'));
  const clock = { now: T0 + 1000 };
  let identity = generateKeyPair().publicKey;
  const calls: string[] = [];
  const settings = FileSettingsStore.inDataDir(dir, () => clock.now);
  const agent: ConsoleAgent = {
    identityPublicKey: () => identity, settings,
    readOnce: async () => ({ seq: 7n, energyWh: 1234n }),
    register: async () => { calls.push('register'); return { registrationIndex: 3n }; },
    rotateKey: async () => { calls.push('rotate'); identity = generateKeyPair().publicKey; return identity; },
    factoryReset: async () => { calls.push('reset'); },
  };
  const input = new PassThrough();
  const output = new PassThrough();
  const handle = attachConsole(Duplex.from({ readable: input, writable: output }), agent,
    { trustedIssuers: [utility.publicKey], auditLogPath: join(dir, 'audit.log'), now: () => clock.now });
  let buffered = '';
  output.setEncoding('utf8');
  output.on('data', (s: string) => (buffered += s));
  /** Sends raw bytes; resolves with the answers to the lines they complete. */
  const raw = async (bytes: string | Buffer): Promise<any[]> => {
    input.write(bytes);
    await new Promise((r) => setImmediate(r));
    await handle.idle();
    await new Promise((r) => setImmediate(r));
    const lines = buffered.split('\n').filter(Boolean);
    buffered = '';
    return lines.map((l) => JSON.parse(l));
  };
  const send = async (line: string) => (await raw(line + '\n'))[0];
  const signed = async (line: string, key = tech.secretKey) => {
    const ch = await send('challenge');
    return send(`sign ${toHex(signConsoleCommand(fromHex(ch.nonce), line, key))} ${line}`);
  };
  return { dir, clock, calls, settings, send, raw, signed, handle };
}

t.test('read-only commands answer one readable JSON line each', async (t) => {
  const r = rig();
  const help = await r.send('help');
  t.ok(help.ok);
  t.ok(help.commands.some((c: string) => c.startsWith('set-meter-id')));
  const st = await r.send('status');
  t.match(st, { ok: true, cmd: 'status', meterId: null, technician: null });
  t.match((await r.send('fingerprint')).fingerprint, /^[0-9a-f]{4}(:[0-9a-f]{4}){15}$/);
  t.same((await r.send('read')).reading, { seq: '7', energyWh: '1234' });
  t.match(await r.send('frobnicate now'), { ok: false, cmd: 'frobnicate', error: { code: 'UNKNOWN_COMMAND', message: /frobnicate/ } });
  t.match(await r.send('status extra'), { ok: false, error: { code: 'USAGE' } });
});

t.test('full provisioning with a signed challenge per command; settings persist and are validated', async (t) => {
  const r = rig();
  t.match(await r.send('set-meter-id M-1'), { ok: false, error: { code: 'AUTH_REQUIRED' } });
  t.match(await r.send('challenge'), { ok: false, error: { code: 'AUTH_REQUIRED' } });
  t.match(await r.send(`auth ${cred()}`), { ok: true, technician: 'tech-7' });
  t.match(await r.signed('set-meter-id M-1'), { ok: true, cmd: 'set-meter-id', settings: { meterId: 'M-1' } });
  t.match(await r.signed('set-account ACC-1000'), { ok: true });
  t.match(await r.signed('set-endpoints http://x mqtt://c:1884'), { ok: false, error: { code: 'BAD_SETTING' } });
  t.match(await r.signed('set-endpoints mqtt://l:1883 mqtt://c:1884'), { ok: true });
  t.match(await r.signed('register'), { ok: true, result: { registrationIndex: '3' } });
  const old = (await r.send('fingerprint')).keyId;
  const rot = await r.signed('rotate-key');
  t.ok(rot.ok);
  t.not(rot.keyId, old);
  t.same(r.calls, ['register', 'rotate']);
  t.match(new FileSettingsStore(join(r.dir, 'console-settings.json')).get(),
    { meterId: 'M-1', customerAccount: 'ACC-1000', ledgerUrl: 'mqtt://l:1883', collectorUrl: 'mqtt://c:1884' });
  // a nonce is single-use and bound to the command line
  const ch = await r.send('challenge');
  const sig = toHex(signConsoleCommand(fromHex(ch.nonce), 'set-account A', tech.secretKey));
  t.match(await r.send(`sign ${sig} set-account B`), { ok: false, error: { code: 'BAD_SIGNATURE' } });
  t.match(await r.send(`sign ${sig} set-account A`), { ok: false, error: { code: 'NO_CHALLENGE' } });
  writeFileSync(join(r.dir, 'bad.json'), JSON.stringify({ meterId: 'a/b' }));
  t.throws(() => new FileSettingsStore(join(r.dir, 'bad.json')), { code: 'BAD_SETTING' });
  // every command and result is in the audit log, UTC
  const log = (await r.send('log 3')).entries;
  t.equal(log.length, 3);
  t.match(log[0].t, /Z$/);
  t.ok(readFileSync(join(r.dir, 'audit.log'), 'utf8').includes('"cmd":"register","technician":"tech-7","ok":true'));
});

t.test('scope and expiry are enforced', async (t) => {
  const r = rig();
  t.match(await r.send(`auth ${cred()}`), { ok: true });
  t.match(await r.signed('set-meter-id M-2'), { ok: false, error: { code: 'OUT_OF_SCOPE' } });
  t.match(await r.signed('set-meter-id M-1'), { ok: true });
  t.match(await r.send(`auth ${cred(['M-9'])}`), { ok: false, error: { code: 'OUT_OF_SCOPE' } }, 'meter id is now set');
  t.match(await r.send(`auth ${cred(['site:S-1'])}`), { ok: false, error: { code: 'OUT_OF_SCOPE' } });
  r.settings.update({ siteId: 'S-1' });
  t.match(await r.send(`auth ${cred(['site:S-1'])}`), { ok: true });
  t.match(await r.signed('set-account X'), { ok: true });
  t.match(await r.send(`auth ${cred(['*'], 1)}`), { ok: true });
  r.clock.now = T0 + 3_600_001;
  t.match(await r.signed('set-account Y'), { ok: false, error: { code: 'EXPIRED' } });
  t.match(await r.send(`auth ${cred(['*'], 1)}`), { ok: false, error: { code: 'EXPIRED' } });
});

t.test('wrong attempts lock the console out, doubling each time', async (t) => {
  const r = rig();
  const other = generateKeyPair();
  const forged = toHex(issueTechnicianCredential({ technicianId: 'evil', technicianPublicKey: other.publicKey, scope: [{ kind: 'any' }],
    notBeforeMs: 0n, notAfterMs: BigInt(T0 * 2) }, other));
  t.match(await r.send(`auth ${forged}`), { ok: false, error: { code: 'UNKNOWN_ISSUER' } });
  t.match(await r.send('auth zz'), { ok: false, error: { code: 'BAD_HEX' } });
  t.match(await r.send(`auth ${cred()}`), { ok: true }, 'a success resets the count');
  for (let i = 0; i < 2; i++) t.match(await r.signed('set-meter-id M-1', other.secretKey), { ok: false, error: { code: 'BAD_SIGNATURE' } });
  t.match(await r.signed('set-meter-id M-1', other.secretKey), { ok: false, error: { code: 'BAD_SIGNATURE', retryAfterMs: 5000 } });
  t.match(await r.send('challenge'), { ok: false, error: { code: 'LOCKED' } });
  t.match(await r.send(`auth ${cred()}`), { ok: false, error: { code: 'LOCKED' } });
  r.clock.now += 5001;
  t.match(await r.signed('set-meter-id M-1', other.secretKey), { ok: false, error: { code: 'BAD_SIGNATURE', retryAfterMs: 10000 } });
  r.clock.now += 10001;
  t.match(await r.signed('set-meter-id M-1'), { ok: true });
  t.equal((await r.send('status')).lockedForMs, 0);
});

t.test('factory reset needs a signed confirm with the token within 30 s', async (t) => {
  const r = rig();
  await r.send(`auth ${cred()}`);
  await r.signed('set-meter-id M-1');
  const fr = await r.signed('factory-reset');
  t.match(fr, { ok: true, token: /^[0-9a-f]{8}$/ });
  t.match(await r.signed('confirm 00000000'), { ok: false, error: { code: 'BAD_TOKEN' } });
  t.match(await r.signed(`confirm ${fr.token}`), { ok: false, error: { code: 'NOTHING_TO_CONFIRM' } }, 'a wrong token cancels');
  const fr2 = await r.signed('factory-reset');
  r.clock.now += 30_001;
  t.match(await r.signed(`confirm ${fr2.token}`), { ok: false, error: { code: 'CONFIRM_EXPIRED' } });
  const fr3 = await r.signed('factory-reset');
  t.match(await r.send(`confirm ${fr3.token}`), { ok: false, error: { code: 'AUTH_REQUIRED' } });
  t.match(await r.signed(`confirm ${fr3.token}`), { ok: true, reset: true });
  t.same(r.calls, ['reset']);
  t.match(await r.send('status'), { meterId: null, technician: null });
});

t.test('hostile lines: over-long, binary, empty, CR LF; the console keeps answering', async (t) => {
  const r = rig();
  const long = await r.raw('x'.repeat(5000));
  t.same(long, [], 'nothing until the line ends');
  t.match(await r.raw('y'.repeat(100_000) + '\nstatus\n'), [{ ok: false, error: { code: 'LINE_TOO_LONG' } }, { ok: true, cmd: 'status' }]);
  t.match(await r.raw(Buffer.from([0xff, 0xfe, 0x00, 0x0a])), [{ ok: false, error: { code: 'BAD_ENCODING' } }]);
  t.match(await r.send('sta\u0007tus'), { ok: false, error: { code: 'BAD_CHARACTER' } });
  t.match(await r.send(''), { ok: false, error: { code: 'EMPTY_LINE' } });
  t.match(await r.send('   \t '), { ok: false, error: { code: 'EMPTY_LINE' } });
  t.match(await r.raw('status\r\n'), [{ ok: true, cmd: 'status' }]);
  t.match(await r.send('sign'), { ok: false, error: { code: 'USAGE' } });
  t.match(await r.send('sign aa help'), { ok: false, error: { code: 'NOT_SIGNABLE' } });
  t.match(await r.send('auth ' + 'ab'.repeat(300)), { ok: false });
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
    const answers = await r.raw(Buffer.concat([Buffer.from(bytes), Buffer.from('\n')]));
    const lines = Buffer.from(bytes).toString('latin1').split('\n').length;
    if (answers.length !== lines) throw new Error(`expected ${lines} answers, got ${answers.length}`);
    for (const a of answers) if (typeof a.ok !== 'boolean') throw new Error('malformed answer');
  }), { numRuns: 200 });
  t.match(await r.send('status'), { ok: true });
});

t.test('no RTC: before the clock syncs, notBefore is not enforced and expiry is judged at the floor', async (t) => {
  const r = rig();
  r.clock.now = 0; // a board without a battery-backed clock boots at 1970-01-01
  t.match(await r.send(`auth ${cred()}`), { ok: true, technician: 'tech-7', clockSynced: false }, 'a current credential is usable before sync');
  t.match(await r.signed('set-meter-id M-1'), { ok: true }, 'and authorises signed commands');
  const old = toHex(issueTechnicianCredential({
    technicianId: 'tech-7', technicianPublicKey: tech.publicKey, scope: [parseScopeEntry('M-1')],
    notBeforeMs: BigInt(Date.UTC(2020, 0, 1)), notAfterMs: BigInt(Date.UTC(2020, 0, 2)),
  }, utility));
  t.match(await r.send(`auth ${old}`), { ok: false, error: { code: 'EXPIRED' } }, 'a credential that expired before the firmware floor is still refused');
  t.match(await r.send(`auth ${toHex(issueTechnicianCredential({
    technicianId: 'tech-7', technicianPublicKey: tech.publicKey, scope: [parseScopeEntry('M-1')], notBeforeMs: BigInt(T0), notAfterMs: BigInt(T0 + 1),
  }, generateKeyPair()))}`), { ok: false, error: { code: 'UNKNOWN_ISSUER' } }, 'the issuer is checked as always');
  r.clock.now = T0 + 9 * 3_600_000; // synced, and past this credential's notAfter
  t.match(await r.send(`auth ${cred()}`), { ok: false, error: { code: 'EXPIRED' } }, 'once synced the full window applies');
});
