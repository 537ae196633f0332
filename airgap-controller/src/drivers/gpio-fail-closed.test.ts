// Fail-closed for the gpio driver when the controller itself dies during a window (README §Policy):
// - sysfs: kill -9 of a controller process with a window open; its dead-man watchdog writes the disconnected
//   level to the (simulated) sysfs value file.
// - libgpiod: the gpioset holder runs under a keeper that ends it when the controller's process ends, so the
//   line is released; shown with a stand-in gpioset (a shell script that records its pid and sleeps), since this
//   machine has no GPIO chip.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { openWindow } from '../client.js';
import { settles, tempAuditPath, waitFor, type Teardown } from '../test-fixtures/harness.js';

const LINE = 23;
const fixture = fileURLToPath(new URL('../test-fixtures/run-controller.ts', import.meta.url));

function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'airgap-gpio-fc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts `node --import tsx <script> <arg>` and resolves with its first stdout line. */
async function startChild(t: Teardown, script: string, arg: string, what: string): Promise<{ child: ChildProcess; line: string; exited: Promise<NodeJS.Signals | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, arg], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const line = await settles(
    new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', () => reject(new Error(`${what} exited before it was ready`)));
    }),
    what,
  );
  return { child, line, exited };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('gpio (sysfs): kill -9 of the controller during a window — the watchdog de-energises the relay', async (t) => {
  const root = tempDir(t);
  writeFileSync(join(root, 'export'), '');
  mkdirSync(join(root, `gpio${LINE}`));
  writeFileSync(join(root, `gpio${LINE}`, 'value'), '0\n');
  writeFileSync(join(root, `gpio${LINE}`, 'direction'), 'in\n');
  const value = (): string => readFileSync(join(root, `gpio${LINE}`, 'value'), 'utf8').trim();
  const config = {
    driver: 'gpio',
    gpio: { backend: 'sysfs', line: LINE, activeHigh: true, sysfsRoot: root },
    target: { host: '10.20.0.5', port: 8080 },
    auditLog: tempAuditPath(t),
  };
  const { child, line, exited } = await startChild(t, fixture, JSON.stringify(config), 'the gpio controller process');
  const control = JSON.parse(line) as { host: string; port: number };

  const window = await openWindow({ control, reason: 'gpio crash test' });
  t.equal(value(), '1', 'the relay is energised during the window');
  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL');
  await waitFor(() => value() === '0', 'the watchdog to write the disconnected level');
  t.equal(value(), '0', 'after the controller died the line is at the disconnected level');
  t.equal(await settles(window.closed, 'the client to see the end'), 'connection-lost');
});

t.test('gpio (sysfs): an orderly close disarms the watchdog — it does not touch a later window', async (t) => {
  const root = tempDir(t);
  writeFileSync(join(root, 'export'), '');
  mkdirSync(join(root, `gpio${LINE}`));
  writeFileSync(join(root, `gpio${LINE}`, 'value'), '0\n');
  writeFileSync(join(root, `gpio${LINE}`, 'direction'), 'in\n');
  const value = (): string => readFileSync(join(root, `gpio${LINE}`, 'value'), 'utf8').trim();
  const config = { driver: 'gpio', gpio: { backend: 'sysfs', line: LINE, activeHigh: true, sysfsRoot: root }, target: { host: '10.20.0.5', port: 8080 }, auditLog: tempAuditPath(t) };
  const { line } = await startChild(t, fixture, JSON.stringify(config), 'the gpio controller process');
  const control = JSON.parse(line) as { host: string; port: number };
  const first = await openWindow({ control, reason: 'first' });
  await first.close();
  t.equal(value(), '0');
  const second = await openWindow({ control, reason: 'second' });
  // a stale watchdog from the first window would have fired when it was killed; give it time to misbehave
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(value(), '1', 'the second window stays energised: the first watchdog was disarmed without acting');
  await second.close();
  t.equal(value(), '0');
});

const holderFixture = fileURLToPath(new URL('../test-fixtures/hold-gpio-line.ts', import.meta.url));

t.test('gpio (libgpiod): the gpioset holder does not outlive a killed controller', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'gpioset.log');
  const fake = join(dir, 'gpioset');
  // stands in for libgpiod's gpioset: records its pid and argv, then holds "the line" until signalled
  writeFileSync(fake, `#!/bin/sh\necho "$$ $*" >> '${log}'\nexec sleep 600\n`);
  chmodSync(fake, 0o755);
  const { child, exited } = await startChild(t, holderFixture, JSON.stringify({ gpiosetPath: fake, chip: 'gpiochip0', line: LINE }), 'the line holder process');
  await waitFor(() => existsSync(log), 'the stand-in gpioset to start');
  const [pidText, ...args] = readFileSync(log, 'utf8').trim().split(' ');
  const pid = Number(pidText);
  t.same(args, ['-c', 'gpiochip0', '-C', 'meterseal-airgap', `${LINE}=1`], 'gpioset was asked to hold the line energised');
  t.ok(alive(pid), 'the holder runs while the controller lives');
  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL');
  await waitFor(() => !alive(pid), 'the holder to end');
  t.notOk(alive(pid), 'the holder ended with the controller, so the line is released');
});
