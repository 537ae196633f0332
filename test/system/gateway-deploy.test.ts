// hardware/deploy: the systemd units pass `systemd-analyze verify` (and a parser's checks of what each must
// hold), the udev rules parse, every example config validates against its service's schema, and the watchdog
// helper really speaks sd_notify (READY=1, then WATCHDOG=1) to a NOTIFY_SOCKET.
import t from 'tap';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayConfig } from '@meterseal/edge-gateway';
import { AgentLaunchConfig } from '@meterseal/device';
import { LedgerConfigSchema } from '@meterseal/ledger-service';
import { CollectorConfigSchema } from '@meterseal/collector-system';
import { AirgapConfigSchema } from '@meterseal/airgap-controller';

const DEPLOY = fileURLToPath(new URL('../../hardware/deploy/', import.meta.url));
const ROLES = ['agent', 'gateway', 'ledger', 'collector', 'airgap'] as const;
const unitPath = (role: string): string => join(DEPLOY, 'systemd', `meterseal-${role}.service`);

/** A minimal systemd unit-file parser (systemd.syntax(7)): sections, KEY=VALUE lines, repeated keys kept in order. */
export function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | null = null;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[([A-Za-z]+)\]$/.exec(line);
    if (sec) {
      current = new Map();
      sections.set(sec[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq <= 0 || !/^[A-Za-z][A-Za-z0-9]*$/.test(line.slice(0, eq))) throw new Error(`line ${i + 1}: not KEY=VALUE inside a section: ${raw}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

t.test('every unit parses and holds restart, watchdog, notify and hardening settings', async (t) => {
  t.same(readdirSync(join(DEPLOY, 'systemd')).sort(), ROLES.map((r) => `meterseal-${r}.service`).sort(), 'one unit per role');
  for (const role of ROLES) {
    const u = parseUnit(readFileSync(unitPath(role), 'utf8'));
    const s = u.get('Service')!;
    const one = (k: string): string | undefined => s.get(k)?.at(-1);
    t.equal(one('Restart'), 'on-failure', `${role}: Restart=on-failure`);
    t.match(one('WatchdogSec'), /^\d+s$/, `${role}: WatchdogSec`);
    t.equal(one('Type'), 'notify', `${role}: Type=notify`);
    t.equal(one('NotifyAccess'), 'all', `${role}: systemd-notify runs as a child`);
    for (const [k, v] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['CapabilityBoundingSet', '']]) {
      t.equal(one(k!), v, `${role}: ${k}=${v}`);
    }
    t.notOk(s.has('MemoryDenyWriteExecute'), `${role}: no MemoryDenyWriteExecute (Node's JIT)`);
    t.match(one('ExecStart'), new RegExp(`/opt/meterseal/cli/bin/meterseal\\.js ${role} --config /etc/meterseal/${role}\\.json --data-dir /var/lib/meterseal/${role}$`), `${role}: runs meterseal ${role}`);
    t.equal(u.get('Install')?.get('WantedBy')?.[0], 'multi-user.target');
  }
  t.throws(() => parseUnit('Restart=always\n'), /not KEY=VALUE inside a section/, 'the parser refuses a key outside a section');
});

const analyze = spawnSync('systemd-analyze', ['--version']);
t.test('systemd-analyze verify accepts the units (and rejects a broken one)', { skip: analyze.status === 0 ? false : 'systemd-analyze not installed' }, async (t) => {
  const verify = (files: string[]): Promise<{ code: number; out: string }> =>
    new Promise((resolve) => execFile('systemd-analyze', ['verify', ...files], (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr })));
  const ok = await verify(ROLES.map(unitPath));
  t.equal(ok.out.split('\n').filter((l) => l.includes('meterseal-')).join('\n'), '', 'no complaint about any unit');
  t.equal(ok.code, 0);
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-units-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'meterseal-broken.service');
  writeFileSync(bad, readFileSync(unitPath('gateway'), 'utf8').replace('Restart=on-failure', 'Restart=sometimes').replace('ExecStart=/usr/bin/node', 'ExecStart=/nonexistent/node'));
  const broken = await verify([bad]);
  t.match(broken.out, /meterseal-broken\.service/, 'verify does check here: it names the broken unit');
});

t.test('udev rules: every rule parses and gives a stable meterseal-* name', async (t) => {
  const text = readFileSync(join(DEPLOY, 'udev', '99-meterseal-serial.rules'), 'utf8');
  const rules = text.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  t.ok(rules.length >= 4);
  const pair = /^\s*([A-Z]+)(\{[A-Za-z0-9_]+\})?\s*(==|!=|\+=|:=|=)\s*"([^"]*)"\s*$/; // udev(7) "Rules files"
  for (const rule of rules) {
    const pairs = rule.split(',').map((p) => pair.exec(p));
    t.ok(pairs.every((p) => p !== null), `parses: ${rule.slice(0, 60)}`);
    const keys = pairs.map((p) => `${p![1]}${p![3]}`);
    t.ok(keys.includes('SUBSYSTEM==') && keys.some((k) => k.endsWith('==')), 'matches on the tty subsystem');
    t.match(pairs.find((p) => p![1] === 'SYMLINK')?.[4], /^meterseal-[a-z0-9-]+$/, 'names a meterseal-* link');
  }
  t.notOk(pair.exec('SYMLINK+=meterseal-x'), 'an unquoted value is refused');
});

t.test('every example config validates against its service\'s schema', async (t) => {
  const read = (role: string): Record<string, unknown> => JSON.parse(readFileSync(join(DEPLOY, 'config', `${role}.json`), 'utf8')) as Record<string, unknown>;
  const dataDir = (role: string): { dataDir: string } => ({ dataDir: `/var/lib/meterseal/${role}` }); // as the units' --data-dir adds it
  const gw = GatewayConfig.parse({ ...read('gateway'), ...dataDir('gateway') });
  t.equal(gw.meters.length, 3);
  t.equal(gw.bus.path, '/dev/meterseal-rs485', 'the gateway uses the udev name');
  t.ok(AgentLaunchConfig.parse({ ...read('agent'), ...dataDir('agent') }));
  t.ok(LedgerConfigSchema.parse({ ...read('ledger'), ...dataDir('ledger') }));
  t.ok(CollectorConfigSchema.parse({ ...read('collector'), ...dataDir('collector') }));
  t.ok(AirgapConfigSchema.parse(read('airgap')));
  t.throws(() => GatewayConfig.parse({ ...read('gateway'), ...dataDir('gateway'), meters: [...gw.meters, gw.meters[0]] }), 'a meter listed twice is refused');
});

const python = spawnSync('python3', ['--version']);
t.test('meterseal-watchdog sends READY=1 once the port answers, then WATCHDOG=1, and passes on the exit code', { skip: python.status === 0 && spawnSync('systemd-notify', ['--help']).status === 0 ? false : 'needs python3 and systemd-notify' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'notify.sock');
  // Node has no AF_UNIX datagram sockets: a python3 listener stands in for systemd's notify socket
  const listener = spawn('python3', ['-c', `import socket,sys
s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.bind(sys.argv[1]); print('bound',flush=True); s.settimeout(30)
while True:
  m=s.recv(4096).decode(); print(m.replace(chr(10),' '),flush=True)
  if 'WATCHDOG=1' in m: break`, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => listener.kill());
  let heard = '';
  listener.stdout!.on('data', (d: Buffer) => (heard += d.toString()));
  while (!heard.includes('bound')) await new Promise((r) => setTimeout(r, 50));
  const server = createServer((c) => c.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const wd = spawn('bash', [join(DEPLOY, 'bin', 'meterseal-watchdog'), `127.0.0.1:${port}`, '--', 'bash', '-c', 'sleep 2.5; exit 7'], {
    env: { ...process.env, NOTIFY_SOCKET: sock, WATCHDOG_USEC: '2000000' }, stdio: 'ignore',
  });
  const code = await new Promise<number | null>((r) => wd.once('exit', r));
  await new Promise<void>((r) => (listener.exitCode !== null ? r() : listener.once('exit', () => r())));
  t.match(heard, /READY=1/, 'READY=1');
  t.match(heard, /WATCHDOG=1/, 'WATCHDOG=1');
  t.ok(heard.indexOf('READY=1') < heard.indexOf('WATCHDOG=1'), 'ready first');
  t.equal(code, 7, 'the service\'s exit code is the unit\'s');
});
