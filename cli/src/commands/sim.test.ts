import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadDlt645Profile, loadProfile } from '@meterseal/hardware';
import { Dlt645MeterReader, ModbusMeterReader } from '@meterseal/device';
import { createPtyPair, socatAvailable } from '@meterseal/simulator';
import { faultsFromFlags, runSim, type SimFlags } from './sim.js';

const log = pino({ level: 'silent' });
const profile = loadProfile('chint-ddsu666');
const hasSocat = await socatAvailable();
const pty = hasSocat ? {} : { skip: 'socat is not installed: sim tests need real pty pairs' };
const BIN = fileURLToPath(new URL('../../bin/meterseal.js', import.meta.url));
const flags = (o: Partial<SimFlags>): SimFlags => ({ protocol: 'modbus', pace: true, ...o });

t.test('fault flags become the simulator\'s faults config', async (t) => {
  t.same(faultsFromFlags(flags({ dropRate: 0.1, corruptRate: 0.2, replyDelay: 5, rebootEvery: 100, rebootDowntime: 50, driftPpm: -20 })), {
    dropRate: 0.1, corruptRate: 0.2, replyDelayMs: 5, rebootEveryRequests: 100, rebootDowntimeMs: 50, driftPpm: -20,
  });
  t.same(faultsFromFlags(flags({})), {}, 'no flag, no override');
});

t.test('--meters 2 without --port: two pty pairs, each path printed, each meter read by the agent\'s reader', pty, async (t) => {
  const lines: string[] = [];
  const h = await runSim(flags({ meters: 2, baud: 19200 }), log, (l) => lines.push(l));
  t.teardown(() => h.close());
  t.equal(lines.length, 2);
  for (const [i, line] of lines.entries()) {
    const m = /^meter (\d) \(unit (\d)\): point the agent at (\/dev\/pts\/\d+)$/.exec(line);
    t.ok(m, line);
    const reader = new ModbusMeterReader({ path: m![3]!, baudRate: 19200, profile, unitId: i + 1, timeoutMs: 2000 });
    t.teardown(() => reader.close());
    await reader.open();
    t.equal((await reader.read()).length, profile.registers.length, `meter ${i + 1} read`);
  }
});

t.test('--protocol dlt645 --port PATH --address A serves one DL/T 645 meter there', pty, async (t) => {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const h = await runSim(flags({ protocol: 'dlt645', port: pair.a, address: '000000004242', baud: 9600 }), log, () => undefined);
  t.teardown(() => h.close());
  const reader = new Dlt645MeterReader({ path: pair.b, address: '000000004242', profile: loadDlt645Profile('dlt645-single-phase'), timeoutMs: 2000 });
  t.teardown(() => reader.close());
  await reader.open();
  const snap = await reader.snapshot();
  t.equal(snap.meterIdentity, '000000004242');
  t.ok(snap.meterClock !== null, 'the simulator answers date and time');
});

t.test('the real command: a 3-meter bus on --port; SIGUSR2 reboots the meters and their registers reset', pty, async (t) => {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const child = spawn(process.execPath, [BIN, 'sim', '--port', pair.a, '--meters', '3', '--seed', '5', '--energy', '5000', '--reboot-downtime', '300'], {
    env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => (child.exitCode === null ? new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) : undefined));
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.resume();
  const deadline = Date.now() + 30_000;
  while (!stdout.includes('meter 3 (unit 3)')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`sim did not start: ${stdout}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  t.match(stdout, `point the agent at ${pair.a}`);
  const reader = new ModbusMeterReader({ path: pair.b, baudRate: 9600, profile, unitId: 3, timeoutMs: 1000, retries: 0 });
  t.teardown(() => reader.close());
  await reader.open();
  const energy = async (): Promise<bigint> => (await reader.read()).find((s) => s.name === 'active_energy_import')!.value;
  const before = await energy();
  t.ok(before >= 5000n, `the register starts at --energy: ${before} Wh`);
  child.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 100));
  await t.rejects(reader.read(), { code: 'TIMEOUT' }, 'silent while rebooting');
  await new Promise((r) => setTimeout(r, 400));
  const after = await energy();
  t.ok(after < 5000n, `registers reset: ${before} Wh before, ${after} Wh after`);
});
