// The netns driver against real network namespaces. Needs CAP_NET_ADMIN (CI runs as root); without it the
// namespace tests are skipped with the reason. Only the addresses inside the two test namespaces are used.
import { spawn, type ChildProcess } from 'node:child_process';
import t from 'tap';
import { openWindow } from '../client.js';
import { parseAirgapConfig } from '../config.js';
import { startAirgap } from '../controller.js';
import { readAudit, settles, silentLog, tempAuditPath } from '../test-fixtures/harness.js';
import { defaultIpPath, ipRunner, linkState } from './ip-command.js';
import type { NetnsLayout } from './netns.js';
import { setupNetns, teardownNetns } from './netns-setup.js';

const ipPath = defaultIpPath();
const ip = ipRunner(ipPath);
const id = String(process.pid % 100_000);
const layout: NetnsLayout = {
  ledgerNs: `ms-agl-${id}`,
  collectorNs: `ms-agc-${id}`,
  vethLedger: `agl${id}`,
  vethCollector: `agc${id}`,
  ledgerAddr: '10.77.0.1/30',
  collectorAddr: '10.77.0.2/30',
};
const LEDGER_PORT = 8080;

/** Why the namespace tests cannot run here, or undefined if `ip netns add` works. */
async function cannotRun(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces are Linux-only';
  const probeNs = `ms-agprobe-${id}`;
  try {
    await ip(['netns', 'add', probeNs]);
  } catch (err) {
    return `\`ip netns add\` failed (needs root / CAP_NET_ADMIN): ${(err as Error).message}`;
  }
  await ip(['netns', 'del', probeNs]);
  return undefined;
}
const skip = await cannotRun();

// The ledger: an HTTP server inside ledgerNs (on all of that namespace's addresses; none exist elsewhere).
const SERVER = `require('node:http').createServer((q, s) => s.end('ledger saw ' + q.url))
  .listen(Number(process.argv[1]), '0.0.0.0', () => console.log('listening'));`;
// The collector: one GET from inside collectorNs, bounded at 2 s; prints {ok,status,body} or {ok:false,code}.
const PROBE = `const r = require('node:http').get(process.argv[1], { agent: false, timeout: 2000 }, (res) => {
    let body = ''; res.setEncoding('utf8'); res.on('data', (c) => (body += c));
    res.on('end', () => console.log(JSON.stringify({ ok: true, status: res.statusCode, body })));
  });
  r.on('timeout', () => r.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  r.on('error', (e) => console.log(JSON.stringify({ ok: false, code: e.code || e.message })));`;

function inNs(ns: string, script: string, arg: string): ChildProcess {
  return spawn(ipPath, ['netns', 'exec', ns, process.execPath, '-e', script, arg], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function collectorGet(url: string): Promise<{ ok: boolean; status?: number; body?: string; code?: string }> {
  const child = inNs(layout.collectorNs, PROBE, url);
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  await settles(new Promise((resolve) => child.once('close', resolve)), 'the collector probe');
  return JSON.parse(out) as { ok: boolean; status?: number; body?: string; code?: string };
}

const UNREACHABLE = ['ENETUNREACH', 'EHOSTUNREACH', 'TIMEOUT', 'ETIMEDOUT'];

async function linksDown(): Promise<boolean> {
  const [a, b] = [await linkState(ip, layout.ledgerNs, layout.vethLedger), await linkState(ip, layout.collectorNs, layout.vethCollector)];
  return !a.adminUp && !b.adminUp;
}

t.test('config: netns names and addresses are checked before they reach argv', async (t) => {
  const base = { driver: 'netns', auditLog: '/tmp/a.jsonl', target: { port: 8080 }, netns: layout };
  t.equal(parseAirgapConfig(base).driver, 'netns');
  const bad: [Partial<NetnsLayout>, RegExp][] = [
    [{ ledgerNs: '-n' }, /netns\.ledgerNs/],
    [{ collectorNs: 'a b' }, /netns\.collectorNs/],
    [{ vethLedger: 'x'.repeat(16) }, /netns\.vethLedger/],
    [{ vethCollector: 'veth;rm' }, /netns\.vethCollector/],
    [{ ledgerAddr: '10.77.0.1' }, /netns\.ledgerAddr/],
    [{ collectorAddr: '10.78.0.2/30' }, /one subnet/],
    [{ collectorNs: layout.ledgerNs }, /must differ/],
  ];
  for (const [patch, message] of bad) {
    t.throws(() => parseAirgapConfig({ ...base, netns: { ...layout, ...patch } }), { code: 'CONFIG_INVALID', message });
  }
  t.throws(() => parseAirgapConfig({ ...base, relay: { port: 1 } }), { code: 'CONFIG_INVALID', message: /relay/ });
});

t.test('netns: the veth link carries the collector to the ledger only during a window', { skip }, async (t) => {
  t.teardown(() => teardownNetns(layout)); // registered first: runs even if setup or anything after fails
  await setupNetns(layout);
  t.ok(await linksDown(), 'setup leaves both veth ends down');

  const server = inNs(layout.ledgerNs, SERVER, String(LEDGER_PORT));
  t.teardown(() => void server.kill('SIGKILL'));
  await settles(new Promise<void>((resolve) => server.stdout?.once('data', () => resolve())), 'the ledger server to listen');

  // Fail-safe at start: a link someone left up is taken down before the control port exists.
  await ip(['-n', layout.ledgerNs, 'link', 'set', 'dev', layout.vethLedger, 'up']);
  await ip(['-n', layout.collectorNs, 'link', 'set', 'dev', layout.vethCollector, 'up']);
  const auditLog = tempAuditPath(t);
  const airgap = await startAirgap({ driver: 'netns', netns: layout, target: { port: LEDGER_PORT }, auditLog }, { log: silentLog });
  t.teardown(() => settles(airgap.close(), 'the controller to close'));
  t.ok(await linksDown(), 'controller start forced both ends down');

  const url = `http://10.77.0.1:${LEDGER_PORT}/v1/log/sth`;
  const before = await collectorGet(url);
  t.equal(before.ok, false, 'outside a window the collector cannot reach the ledger');
  t.ok(UNREACHABLE.includes(before.code ?? ''), `unreachable: ${before.code}`);

  const window = await openWindow({ control: airgap.controlAddress, reason: 'netns reconciliation' });
  t.equal(window.relayUrl, `http://10.77.0.1:${LEDGER_PORT}`, 'the ledger endpoint as the collector namespace sees it');
  t.same(await collectorGet(url), { ok: true, status: 200, body: 'ledger saw /v1/log/sth' }, 'during the window the GET arrives');

  await window.close();
  t.equal(await window.closed, 'requested');
  t.ok(await linksDown(), 'close() left both ends down (read back with ip -j)');
  const after = await collectorGet(url);
  t.equal(after.ok, false, 'after close the ledger is unreachable again');
  t.ok(UNREACHABLE.includes(after.code ?? ''), `unreachable: ${after.code}`);

  const short = await openWindow({ control: airgap.controlAddress, reason: 'short netns window', maxMs: 1_500 });
  t.equal((await collectorGet(url)).ok, true, 'reachable in the second window');
  t.equal(await settles(short.closed, 'the max-duration close'), 'max-duration');
  t.ok(await linksDown(), 'the max-duration close took both ends down');
  const expired = await collectorGet(url);
  t.equal(expired.ok, false, 'unreachable after the deadline');
  t.ok(UNREACHABLE.includes(expired.code ?? ''), `unreachable: ${expired.code}`);

  const audit = readAudit(auditLog);
  t.match(audit, [
    { event: 'open', driver: 'netns', relay: { host: '10.77.0.1', port: LEDGER_PORT } },
    { event: 'close', closedBy: 'requested', driver: 'netns' },
    { event: 'open' },
    { event: 'close', closedBy: 'max-duration' },
  ]);
  t.ok((audit[1]?.bytesToTarget ?? 0) > 0, 'link-level bytes towards the ledger counted');
  t.ok((audit[1]?.bytesFromTarget ?? 0) > 0, 'link-level bytes from the ledger counted');
});

t.test('netns: teardown removes both namespaces and is idempotent', { skip }, async (t) => {
  await setupNetns(layout);
  await teardownNetns(layout);
  await teardownNetns(layout);
  const list = await ip(['-j', 'netns', 'list']);
  t.notMatch(list, layout.ledgerNs);
  t.notMatch(list, layout.collectorNs);
});
