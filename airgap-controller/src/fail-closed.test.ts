// Fail-closed on a crash of the controller itself: kill -9 the controller process while a window is open and
// the gap is closed — the relay's listener and every relayed connection die with the process; the netns
// driver's veth pair is taken down by its dead-man watchdog (drivers/dead-man.ts).
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { openWindow } from './client.js';
import { httpGet, probe, readAudit, settles, startFixture, startTarget, tempAuditPath } from './test-fixtures/harness.js';
import { defaultIpPath, ipRunner, linkState } from './drivers/ip-command.js';
import type { NetnsLayout } from './drivers/netns.js';
import { setupNetns, teardownNetns } from './drivers/netns-setup.js';

const fixture = fileURLToPath(new URL('./test-fixtures/run-controller.ts', import.meta.url));

t.test('kill -9 of the controller during a window: the relay is gone, in-flight connections are cut', async (t) => {
  const target = await startTarget(t);
  const auditLog = tempAuditPath(t);
  const config = { target: target.endpoint, auditLog, httpAllowlist: ['/hold', '/v1/proof'] };
  const { child, line, exited } = await startFixture(t, fixture, [JSON.stringify(config)], 'the controller process to listen');
  const control = JSON.parse(line) as { host: string; port: number };

  const window = await openWindow({ control, reason: 'crash test' });
  const relayPort = Number(new URL(window.relayUrl).port);
  t.equal((await httpGet(`${window.relayUrl}/v1/proof`)).status, 200, 'the gap is bridged');
  // a relayed response that is still streaming when the controller dies
  const held = new Promise<string>((resolve) => {
    void fetch(`${window.relayUrl}/hold`).then(
      async (res) => {
        try {
          await res.text();
          resolve('completed');
        } catch {
          resolve('cut');
        }
      },
      () => resolve('cut'),
    );
  });
  await settles(
    (async () => {
      while (target.held.length === 0) await new Promise((r) => setTimeout(r, 20));
    })(),
    'the held response to start',
  );

  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL');
  t.equal(await settles(held, 'the in-flight response to end'), 'cut', 'the in-flight connection was cut');
  t.equal(await probe(relayPort), 'ECONNREFUSED', 'nothing listens on the relay port any more');
  t.equal(await probe(control.port), 'ECONNREFUSED', 'nor on the control port');
  t.equal(await settles(window.closed, 'the client to see the end'), 'connection-lost');
  const audit = readAudit(auditLog);
  t.match(audit, [{ event: 'open', reason: 'crash test' }], 'the open was on disk before the window opened; no close line (the process died)');
});

// The same for the netns driver (needs root / CAP_NET_ADMIN; skipped with the reason otherwise): the veth
// pair is up during the window; after kill -9 of the controller the dead-man watchdog takes both ends down.
const ip = ipRunner(defaultIpPath());
const nsId = String((process.pid + 7) % 100_000);
const layout: NetnsLayout = {
  ledgerNs: `ms-fcl-${nsId}`,
  collectorNs: `ms-fcc-${nsId}`,
  vethLedger: `fcl${nsId}`,
  vethCollector: `fcc${nsId}`,
  ledgerAddr: '10.78.0.1/30',
  collectorAddr: '10.78.0.2/30',
};
async function netnsUnavailable(): Promise<string | false> {
  if (process.platform !== 'linux') return 'network namespaces are Linux-only';
  try {
    await ip(['netns', 'add', `ms-fcprobe-${nsId}`]);
    await ip(['netns', 'del', `ms-fcprobe-${nsId}`]);
    return false;
  } catch (err) {
    return `\`ip netns add\` failed (needs root / CAP_NET_ADMIN): ${(err as Error).message}`;
  }
}
const adminUp = async (): Promise<[boolean, boolean]> => [
  (await linkState(ip, layout.ledgerNs, layout.vethLedger)).adminUp,
  (await linkState(ip, layout.collectorNs, layout.vethCollector)).adminUp,
];

t.test('kill -9 of the netns controller during a window: the veth pair goes down', { skip: await netnsUnavailable() }, async (t) => {
  await setupNetns(layout);
  t.teardown(() => teardownNetns(layout));
  const config = { driver: 'netns', netns: layout, target: { port: 8080 }, auditLog: tempAuditPath(t) };
  const { child, line, exited } = await startFixture(t, fixture, [JSON.stringify(config)], 'the netns controller to listen');
  const control = JSON.parse(line) as { host: string; port: number };
  const window = await openWindow({ control, reason: 'netns crash test' });
  t.same(await adminUp(), [true, true], 'the window bridged the namespaces');
  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL');
  await settles(
    (async () => {
      for (;;) {
        const [a, b] = await adminUp();
        if (!a && !b) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    })(),
    'the watchdog to take both veth ends down',
  );
  t.same(await adminUp(), [false, false], 'both ends are down after the controller died');
  t.equal(await settles(window.closed, 'the client to see the end'), 'connection-lost');
});
