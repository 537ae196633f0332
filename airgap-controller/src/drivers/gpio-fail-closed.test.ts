// Fail-closed for the gpio driver when the controller itself dies during a window (README §Policy):
// - sysfs: kill -9 of a controller process with a window open; its dead-man watchdog writes the disconnected
//   level to the (simulated) sysfs value file.
// - libgpiod: the gpioset holder runs under a keeper that ends it when the controller's process ends, so the
//   line is released; shown with a stand-in gpioset (a shell script that records its pid and sleeps), since this
//   machine has no GPIO chip.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { openWindow } from '../client.js';
import { settles, startFixture, tempAuditPath, waitFor, type Teardown } from '../test-fixtures/harness.js';

const LINE = 23;
const fixture = fileURLToPath(new URL('../test-fixtures/run-controller.ts', import.meta.url));

function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'airgap-gpio-fc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A simulated sysfs GPIO directory with the line exported and low; a gpio controller config for it. */
function sysfsController(t: Teardown): { config: string; value: () => string } {
  const root = tempDir(t);
  writeFileSync(join(root, 'export'), '');
  mkdirSync(join(root, `gpio${LINE}`));
  writeFileSync(join(root, `gpio${LINE}`, 'value'), '0\n');
  writeFileSync(join(root, `gpio${LINE}`, 'direction'), 'in\n');
  const config = {
    driver: 'gpio',
    gpio: { backend: 'sysfs', line: LINE, activeHigh: true, sysfsRoot: root },
    target: { host: '10.20.0.5', port: 8080 },
    auditLog: tempAuditPath(t),
  };
  return { config: JSON.stringify(config), value: () => readFileSync(join(root, `gpio${LINE}`, 'value'), 'utf8').trim() };
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
  const { config, value } = sysfsController(t);
  const { child, line, exited } = await startFixture(t, fixture, [config], 'the gpio controller process');
  const control = JSON.parse(line) as { host: string; port: number };

  const window = await openWindow({ control, reason: 'gpio crash test' });
  t.equal(value(), '1', 'the relay is energised during the window');
  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL');
  await waitFor(() => value() === '0', 'the watchdog to write the disconnected level');
  t.equal(value(), '0', 'after the controller died the line is at the disconnected level');
  t.equal(await settles(window.closed, 'the client to see the end'), 'connection-lost');
});

/** Processes whose command line mentions `needle` (Linux /proc): the armed watchdogs carry the value path. */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

t.test('gpio (sysfs): a watchdog is armed only while a window is open; an orderly close disarms it', async (t) => {
  const { config, value } = sysfsController(t);
  const valuePath = (JSON.parse(config) as { gpio: { sysfsRoot: string } }).gpio.sysfsRoot + `/gpio${LINE}/value`;
  const { line } = await startFixture(t, fixture, [config], 'the gpio controller process');
  const control = JSON.parse(line) as { host: string; port: number };
  t.same(processesMentioning(valuePath), [], 'no watchdog before any window');
  const window = await openWindow({ control, reason: 'orderly' });
  t.equal(value(), '1');
  t.equal(processesMentioning(valuePath).length, 1, 'one watchdog holds the line\'s fail-safe during the window');
  await window.close();
  t.equal(value(), '0');
  await waitFor(() => processesMentioning(valuePath).length === 0, 'the watchdog to be disarmed');
  t.same(processesMentioning(valuePath), [], 'disarmed after the close: it cannot act on a later window');
});

const holderFixture = fileURLToPath(new URL('../test-fixtures/hold-gpio-line.ts', import.meta.url));

t.test('gpio (libgpiod): the gpioset holder does not outlive a killed controller', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'gpioset.log');
  const fake = join(dir, 'gpioset');
  // stands in for libgpiod's gpioset: records its pid and argv, then holds "the line" until signalled
  writeFileSync(fake, `#!/bin/sh\necho "$$ $*" >> '${log}'\nexec sleep 600\n`);
  chmodSync(fake, 0o755);
  const { child, exited } = await startFixture(t, holderFixture, [JSON.stringify({ gpiosetPath: fake, chip: 'gpiochip0', line: LINE })], 'the line holder process');
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
