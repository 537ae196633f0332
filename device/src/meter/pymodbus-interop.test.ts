// Interop: the agent's ModbusMeterReader against an independent Modbus RTU server — Debian's python3-pymodbus 3.0
// (device/test-peers/pymodbus_rtu_server.py) — over a real socat pty pair (8N1). The server encodes the register
// values itself (Python struct), so word order, scaling and framing are checked against another implementation.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProfile, parseProfile, type MeterProfile, type RegisterDef } from '@meterseal/hardware';
import { createPtyPair, socatAvailable } from '@meterseal/simulator';
import { ModbusMeterReader } from './modbus-reader.js';

const PYTHON = '/usr/bin/python3'; // Debian's python3-pymodbus is installed for this interpreter only
const SERVER = fileURLToPath(new URL('../../test-peers/pymodbus_rtu_server.py', import.meta.url));
const hasPymodbus = spawnSync(PYTHON, ['-c', 'import pymodbus.server'], { stdio: 'ignore' }).status === 0;
const hasSocat = await socatAvailable();
const skip = !hasSocat ? { skip: 'socat is not installed' } : !hasPymodbus ? { skip: `${PYTHON} cannot import pymodbus (apt-get install python3-pymodbus)` } : {};

/** Plausible values per quantity, in the meter's source unit (e.g. kWh, kW). */
function sourceValue(def: RegisterDef, i: number): number {
  switch (def.quantity as string) {
    case 'voltage': return 229.5 + i / 10;
    case 'current': return 4.125 + i;
    case 'active_power': return 1.2345 + i / 100;
    case 'reactive_power': return 0.25;
    case 'power_factor': return 0.95;
    case 'frequency': return 49.98;
    case 'active_energy': return 12345.67 + i;
    case 'transformer_ratio': return 40;
    case 'serial_number': return 123456789;
    default: return 1;
  }
}

/** What the reader must report: source value × 10^(sourceScaler − scaler), float32 rounding first. */
function expected(def: RegisterDef, v: number): bigint {
  const exp = def.sourceScaler - def.scaler;
  const x = def.type === 'float32' ? Math.fround(v) : v;
  const scaled = exp >= 0 ? x * 10 ** exp : x / 10 ** -exp;
  return BigInt(Math.sign(scaled) * Math.round(Math.abs(scaled)));
}

const valuesOf = (p: MeterProfile): Record<string, number> => Object.fromEntries(p.registers.map((r, i) => [r.name, sourceValue(r, i)]));

interface HasTeardown {
  teardown(fn: () => unknown): void;
}

async function startPeer(t: HasTeardown, port: string, units: Array<{ unit: number; profile: MeterProfile }>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meterseal-pymodbus-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({ port, baudrate: 9600, units: units.map((u) => ({ ...u, values: valuesOf(u.profile) })) }));
  const child = spawn(PYTHON, [SERVER, spec], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => (child.exitCode === null ? new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) : undefined));
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pymodbus server not ready in 30 s: ${err}`)), 30_000);
    child.stdout.on('data', (c: Buffer) => {
      if (c.toString().includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pymodbus server exited ${code}: ${err}`));
    });
  });
}

// Unit 2: a DDSU666 map with little-endian word order and a serial-number register (uint32), to check that the
// profile's word order is honoured against an encoder that is not ours.
const ddsuLittle = {
  ...parseProfile({ ...loadProfile('chint-ddsu666'), registers: loadProfile('chint-ddsu666').registers.map((r) => ({ ...r, wordOrder: 'little' })) }),
};
const withSerial: MeterProfile = {
  ...ddsuLittle,
  registers: [
    ...ddsuLittle.registers,
    { ...ddsuLittle.registers[0]!, name: 'serial_number', quantity: 'serial_number' as never, obis: '0.0.96.1.0.255', address: 0x4100, type: 'uint32', sourceScaler: 0, scaler: 0, unit: '1', wordOrder: 'little' },
  ],
};
const sdm630 = loadProfile('eastron-sdm630');

t.test('pymodbus RTU server: two unit ids on one bus, FC 03 and FC 04, both word orders, serial number', skip, async (t) => {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  await startPeer(t, pair.a, [{ unit: 1, profile: sdm630 }, { unit: 2, profile: withSerial }]);
  const r1 = new ModbusMeterReader({ path: pair.b, baudRate: 9600, parity: 'none', profile: sdm630, unitId: 1, timeoutMs: 2000 });
  const r2 = new ModbusMeterReader({ path: pair.b, baudRate: 9600, parity: 'none', profile: withSerial, unitId: 2, timeoutMs: 2000 });
  for (const r of [r1, r2]) {
    t.teardown(() => r.close());
    await r.open();
  }
  const [s1, s2] = await Promise.all([r1.snapshot(), r2.snapshot()]);
  for (const [profile, snap] of [[sdm630, s1], [withSerial, s2]] as const) {
    const values = valuesOf(profile);
    const byObis = new Map(snap.samples.map((s) => [s.obis, s]));
    for (const def of profile.registers) {
      if ((def.quantity as string) === 'serial_number') continue;
      t.equal(byObis.get(def.obis)?.value, expected(def, values[def.name]!), `${profile.id} ${def.name} (${def.wordOrder} word order)`);
    }
  }
  t.equal(s1.meterIdentity, null, 'the SDM630 map has no serial-number register');
  t.equal(s2.meterIdentity, '123456789', 'serial number from pymodbus, words swapped');
  t.equal(s1.retries + s2.retries, 0);
});

t.test('pymodbus RTU server: an unmapped register is exception 02, reported as EXCEPTION with its code', skip, async (t) => {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  await startPeer(t, pair.a, [{ unit: 1, profile: sdm630 }]);
  const extra = parseProfile({
    ...sdm630,
    registers: [...sdm630.registers, { ...sdm630.registers[0]!, name: 'thd', quantity: 'voltage', obis: '1.0.32.7.124.255', address: 0x00ea }],
  });
  const reader = new ModbusMeterReader({ path: pair.b, baudRate: 9600, parity: 'none', profile: extra, unitId: 1, timeoutMs: 2000 });
  t.teardown(() => reader.close());
  await reader.open();
  await t.rejects(reader.read(), { name: 'MeterReadError', code: 'EXCEPTION', exceptionCode: 2 });
});
