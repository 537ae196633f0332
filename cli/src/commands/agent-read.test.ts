// `meterseal agent read` as a real process against the simulator on a real socat pty pair: the DL/T 645 and
// Modbus readers, identity and clock printed, and the errors a technician meets (port missing, wrong address).
import t from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createPtyPair, socatAvailable, startDlmsSimulator, startDlt645Simulator, startSimulator } from '@meterseal/simulator';
import { physical, readConfig } from './agent-read.js';

const BIN = fileURLToPath(new URL('../../bin/meterseal.js', import.meta.url));
const log = pino({ level: 'silent' });

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'agent', 'read', ...args], { timeout: 90_000, env: { ...process.env, LOG_LEVEL: 'silent' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

t.test('physical values are exact decimals of value × 10^scaler', async (t) => {
  t.equal(physical(12345n, -2), '123.45');
  t.equal(physical(-5n, -3), '-0.005');
  t.equal(physical(7n, 3), '7000');
  t.equal(physical(2301n, -1), '230.1');
});

t.test('a config problem is named by its flag before any port is opened', async (t) => {
  const base = { protocol: 'dlt645' as const, port: '/dev/null', profile: 'dlt645-single-phase' };
  t.throws(() => readConfig(base, '/tmp/x'), { code: 'BAD_ARGUMENT', message: /--address: required when serial\.protocol is "dlt645"/ });
  t.throws(() => readConfig({ ...base, address: '12' }, '/tmp/x'), { message: /--address: DL\/T 645 meter address must be 12 decimal digits/ });
  t.throws(() => readConfig({ ...base, protocol: 'modbus', address: '300' }, '/tmp/x'), { message: /--address must be between 1 and 247/ });
  t.match(readConfig({ ...base, protocol: 'modbus', address: '7', baud: 19200 }, '/tmp/x').serial, { unitId: 7, baudRate: 19200, path: '/dev/null' });
});

t.test('agent read over socat ptys: DL/T 645, Modbus and DLMS meters, identity, clock, and typed errors', { timeout: 240_000 }, async (t) => {
  if (!(await socatAvailable())) {
    t.plan(0, 'socat is not installed: this test needs real pty pairs');
    return;
  }
  const [dlt, mb, dl] = await Promise.all([createPtyPair(), createPtyPair(), createPtyPair()]);
  t.teardown(() => Promise.all([dlt.close(), mb.close(), dl.close()]));
  const meters = await Promise.all([
    startDlt645Simulator({ path: dlt.a, address: '000012345678', initialEnergyWh: 12_345_670 }, { log }),
    startSimulator({ path: mb.a, profile: 'eastron-sdm120', unitId: 3, baudRate: 9600, seed: 4 }, { log }),
    startDlmsSimulator({ path: dl.a, serialNumber: 'SN-777', clockOffsetMs: -90_000, clockStatus: 0x80 }, { log }),
  ]);
  t.teardown(() => Promise.all(meters.map((m) => m.close())));

  // Each pty pair is one line: its reads run one after another; the three lines (and the missing port) run side by side.
  const dltLine = async () => [
    await run(['--protocol', 'dlt645', '--port', dlt.b, '--profile', 'dlt645-single-phase', '--address', '000012345678', '--json']),
    await run(['--protocol', 'dlt645', '--port', dlt.b, '--profile', 'dlt645-single-phase', '--address', '000012345678']),
    await run(['--protocol', 'dlt645', '--port', dlt.b, '--profile', 'dlt645-single-phase', '--address', '000099999999', '--timeout', '300']),
  ];
  const [[ok, table, wrong], m, d, missing] = await Promise.all([
    dltLine(),
    run(['--protocol', 'modbus', '--port', mb.b, '--profile', 'eastron-sdm120', '--address', '3', '--baud', '9600', '--json']),
    run(['--protocol', 'dlms', '--port', dl.b, '--profile', 'dlms-single-phase', '--json']),
    run(['--protocol', 'modbus', '--port', '/dev/meterseal-no-such-port', '--profile', 'chint-ddsu666']),
  ]);

  t.equal(ok!.code, 0, ok!.stderr);
  const scan = JSON.parse(ok!.stdout) as { meterIdentity: string; meterClock: { time: string; driftMs: number } | null; registers: Array<{ obis: string; name: string; value: string; unit: string; raw: string }> };
  t.equal(scan.meterIdentity, '000012345678', 'the DL/T 645 address is the meter identity');
  t.ok(scan.meterClock, 'the simulated meter has a clock');
  t.ok(Math.abs(scan.meterClock!.driftMs) < 60_000, `drift ${scan.meterClock!.driftMs} ms is printed against this machine`);
  t.match(scan.registers.find((r) => r.obis === '1.0.1.8.0.255'), { name: 'active_energy_import', value: '12345670', unit: 'Wh', raw: '67452301' });
  t.equal(scan.registers.filter((r) => /^1\.0\.1\.8\.[1-4]\.255$/.test(r.obis)).length, 4, 'the four time-of-use tariffs');
  t.match(scan.registers.find((r) => r.obis === '1.0.32.7.0.255'), { unit: 'V', value: /^\d{3}\.\d$/ });

  t.equal(table!.code, 0, table!.stderr);
  t.match(table!.stdout, /meter identity\s+000012345678/);
  t.match(table!.stdout, /meter clock\s+\d{4}-\d\d-\d\dT.*drift -?\d+\.\d s/);
  t.match(table!.stdout, /1\.0\.1\.8\.0\.255\s+active_energy_import\s+12345670 Wh/);

  t.equal(wrong!.code, 1);
  t.match(wrong!.stderr, /TIMEOUT: no answer from meter 000099999999 on \/dev\/pts\/\d+: check the address/, 'a wrong address is named as such');
  t.equal(wrong!.stdout, '', 'nothing printed as if it were a reading');

  t.equal(missing.code, 1);
  t.match(missing.stderr, /PORT_MISSING: serial port \/dev\/meterseal-no-such-port does not exist/);

  t.equal(m.code, 0, m.stderr);
  const ms = JSON.parse(m.stdout) as { meterIdentity: string | null; meterClock: unknown; registers: Array<{ obis: string; name: string; unit: string }> };
  t.equal(ms.meterIdentity, null, 'the SDM120 map has no serial-number register (its notes say why)');
  t.equal(ms.meterClock, null, 'and no clock');
  t.match(ms.registers.find((r) => r.obis === '1.0.32.7.0.255'), { name: 'voltage', unit: 'V' });

  t.equal(d.code, 0, d.stderr);
  const ds = JSON.parse(d.stdout) as { meterIdentity: string | null; meterClock: { driftMs: number; status: number } | null; registers: Array<{ obis: string; name: string }> };
  t.equal(ds.meterIdentity, 'SN-777', 'DLMS: the device id is the meter identity');
  t.ok(ds.meterClock && ds.meterClock.driftMs < -60_000 && ds.meterClock.driftMs > -150_000, `DLMS: a clock 90 s slow shows as drift ${ds.meterClock?.driftMs} ms`);
  t.equal(ds.meterClock?.status, 0x80, 'with its clock status byte');
  t.match(ds.registers.find((r) => r.obis === '1.0.1.8.3.255'), { name: /./ }, 'named from the DLMS profile');
});
