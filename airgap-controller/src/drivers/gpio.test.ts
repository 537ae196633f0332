// The gpio driver against a simulated sysfs GPIO directory in a temp dir (no hardware needed), and the
// libgpiod backend only where the gpioset tool exists.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { openWindow } from '../client.js';
import { startAirgap } from '../controller.js';
import { AirgapError } from '../errors.js';
import { readAudit, settles, silentLog, tempAuditPath, waitFor, type Teardown } from '../test-fixtures/harness.js';
import { GpioDriver } from './gpio.js';
import { hasGpioset, LibgpiodLine } from './gpio-libgpiod.js';
import { SysfsGpioLine, type GpioLine, type Level } from './gpio-line.js';

const LINE = 17;
const target = { host: '10.20.0.5', port: 8080 };

/** A temp dir laid out like /sys/class/gpio with gpio17 exported; `initial` is its level at boot. */
function simulatedSysfs(t: Teardown, initial: Level, exported = true): { root: string; value: () => string; direction: () => string } {
  const root = mkdtempSync(join(tmpdir(), 'airgap-gpio-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'export'), '');
  const dir = join(root, `gpio${LINE}`);
  if (exported) {
    mkdirSync(dir);
    writeFileSync(join(dir, 'value'), `${initial}\n`);
    writeFileSync(join(dir, 'direction'), 'in\n');
  }
  return {
    root,
    value: () => readFileSync(join(dir, 'value'), 'utf8').trim(),
    direction: () => readFileSync(join(dir, 'direction'), 'utf8').trim(),
  };
}

function gpioConfig(root: string, activeHigh: boolean, auditLog: string) {
  return { driver: 'gpio' as const, gpio: { backend: 'sysfs' as const, line: LINE, activeHigh, sysfsRoot: root }, target, auditLog };
}

/** A relay whose line reads back stuck at `level`, whatever is written. */
function stuckAt(line: GpioLine, level: Level): GpioLine {
  return { set: (v) => line.set(v), get: async () => level, close: () => line.close() };
}

t.test('gpio (sysfs, active high): disconnected at start, energised only during a window', async (t) => {
  const sysfs = simulatedSysfs(t, 1); // left energised by whatever ran before
  const auditLog = tempAuditPath(t);
  const airgap = await startAirgap(gpioConfig(sysfs.root, true, auditLog), { log: silentLog });
  t.teardown(() => settles(airgap.close(), 'the controller to close'));
  t.equal(sysfs.value(), '0', 'fail-safe: controller start de-energised the relay');
  t.equal(sysfs.direction(), 'low', 'configured as an output starting low (no glitch high)');

  const window = await openWindow({ control: airgap.controlAddress, reason: 'gpio reconciliation' });
  t.equal(window.relayUrl, 'http://10.20.0.5:8080', 'open() returns the ledger endpoint the cable makes reachable');
  t.equal(sysfs.value(), '1', 'energised during the window');
  await window.close();
  t.equal(await window.closed, 'requested');
  t.equal(sysfs.value(), '0', 'de-energised after close');

  const short = await openWindow({ control: airgap.controlAddress, reason: 'short gpio window', maxMs: 200 });
  t.equal(sysfs.value(), '1');
  t.equal(await settles(short.closed, 'the max-duration close'), 'max-duration');
  t.equal(sysfs.value(), '0', 'the max-duration close de-energised the relay');
  t.match(readAudit(auditLog), [
    { event: 'open', driver: 'gpio', relay: target },
    { event: 'close', closedBy: 'requested' },
    { event: 'open' },
    { event: 'close', closedBy: 'max-duration' },
  ]);
});

t.test('gpio (sysfs, active low): exports the line, connected = low, shutdown leaves it high', async (t) => {
  const sysfs = simulatedSysfs(t, 0, false);
  // The simulated kernel: a write to `export` creates gpio17/ (as udev would, a moment later).
  const line = new SysfsGpioLine({ root: sysfs.root, line: LINE });
  const exporting = line.set(1);
  await waitFor(() => readFileSync(join(sysfs.root, 'export'), 'utf8') === String(LINE), 'the write to export');
  t.pass('wrote the line number to export');
  mkdirSync(join(sysfs.root, `gpio${LINE}`));
  writeFileSync(join(sysfs.root, `gpio${LINE}`, 'direction'), 'in');
  writeFileSync(join(sysfs.root, `gpio${LINE}`, 'value'), '0');
  await exporting;
  t.equal(sysfs.direction(), 'high');
  t.equal(sysfs.value(), '1');

  const driver = new GpioDriver({ line, activeHigh: false, target, log: silentLog });
  await driver.init();
  t.equal(sysfs.value(), '1', 'active low: disconnected is high');
  await driver.open();
  t.equal(sysfs.value(), '0', 'active low: connected is low');
  t.equal(driver.isOpen(), true);
  await driver.dispose();
  t.equal(sysfs.value(), '1', 'dispose() leaves the relay de-energised');
  t.equal(driver.isOpen(), false);
});

t.test('gpio: a read-back that disagrees is DRIVER_FAILED, audited, and the line is driven disconnected', async (t) => {
  const sysfs = simulatedSysfs(t, 0);
  const auditLog = tempAuditPath(t);
  const line = stuckAt(new SysfsGpioLine({ root: sysfs.root, line: LINE }), 0); // energising does not take
  const driver = new GpioDriver({ line, activeHigh: true, target, log: silentLog });
  const airgap = await startAirgap(gpioConfig(sysfs.root, true, auditLog), { log: silentLog, driver });
  t.teardown(() => settles(airgap.close(), 'the controller to close'));

  const err = await openWindow({ control: airgap.controlAddress, reason: 'relay is stuck' }).catch((e: unknown) => e);
  t.ok(err instanceof AirgapError);
  t.equal((err as AirgapError).code, 'DRIVER_FAILED', 'the window does not open');
  t.equal(sysfs.value(), '0', 'fail-safe: the line was driven back to disconnected');
  t.equal(driver.isOpen(), false);
  t.same(airgap.stats(), { windows: 0, open: false, refused: 0 });
  t.match(readAudit(auditLog), [
    { event: 'open-failed', driver: 'gpio', reason: 'relay is stuck', relay: null, error: /DRIVER_FAILED: gpio read-back 0 after driving 1/ },
  ]);
});

t.test('gpio: a read-back stuck energised fails init (the controller does not start) and close()', async (t) => {
  const sysfs = simulatedSysfs(t, 1);
  const driver = new GpioDriver({ line: stuckAt(new SysfsGpioLine({ root: sysfs.root, line: LINE }), 1), activeHigh: true, target, log: silentLog });
  const config = gpioConfig(sysfs.root, true, tempAuditPath(t));
  await t.rejects(startAirgap(config, { log: silentLog, driver }), { code: 'DRIVER_FAILED' });
  t.equal(driver.isOpen(), true, 'the driver does not claim the gap is closed');
  t.equal(sysfs.value(), '0', 'it did drive the line to disconnected');
});

t.test('gpio: a line that cannot be written fails the open with DRIVER_FAILED', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'airgap-gpio-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const driver = new GpioDriver({ line: new SysfsGpioLine({ root, line: LINE }), activeHigh: true, target, log: silentLog });
  await t.rejects(driver.open(), { code: 'DRIVER_FAILED' });
});

const gpiosetMissing = (await hasGpioset()) ? false : 'gpioset (libgpiod v2 tools) is not installed';
const chipMissing = process.env.AIRGAP_TEST_GPIOCHIP ? false : 'set AIRGAP_TEST_GPIOCHIP=gpiochipN:line to drive a real line';
t.test('gpio (libgpiod): holds the line with gpioset on a real chip', { skip: gpiosetMissing || chipMissing }, async (t) => {
  const [chip = '', lineText = ''] = (process.env.AIRGAP_TEST_GPIOCHIP ?? '').split(':');
  const line = new LibgpiodLine({ chip, line: Number(lineText) });
  const driver = new GpioDriver({ line, activeHigh: true, target, log: silentLog });
  t.teardown(() => driver.dispose());
  await driver.init();
  t.equal(await line.get(), 0);
  await driver.open();
  t.equal(await line.get(), 1);
  await driver.close();
  t.equal(await line.get(), 0);
});
