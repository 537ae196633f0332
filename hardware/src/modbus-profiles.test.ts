// The shipped Modbus profiles, checked as data: no overlaps, unique OBIS codes, requests within the protocol's
// and the meter's limits, and known register bytes decoding to the documented values.
import t from 'tap';
import { readBlocks, splitBlock, MAX_READ_REGISTERS } from './blocks.js';
import { decodeRegister, encodeRegister } from './codec.js';
import { loadProfile } from './profiles.js';
import { parseProfile, registerWords, QUANTITY_UNITS, type MeterProfile, type RegisterDef } from './schema.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
const MODBUS_PROFILES = ['chint-ddsu666', 'chint-dtsu666', 'eastron-sdm120', 'eastron-sdm630'];

function reg(p: MeterProfile, name: string): RegisterDef {
  const r = p.registers.find((x) => x.name === name);
  if (!r) throw new Error(`${p.id} has no register ${name}`);
  return r;
}
const value = (p: MeterProfile, name: string, bytes: string): bigint => decodeRegister(reg(p, name), hex(bytes)).value;

for (const id of MODBUS_PROFILES) {
  t.test(`${id}: loads, no register overlaps another, names and OBIS codes unique`, async (t) => {
    const p = loadProfile(id);
    t.equal(p.id, id);
    t.ok(p.source.length > 100, 'source cites documents');
    const byFc = new Map<number, Array<[number, number, string]>>();
    for (const r of p.registers) {
      const spans = byFc.get(r.functionCode) ?? [];
      spans.push([r.address, r.address + registerWords(r), r.name]);
      byFc.set(r.functionCode, spans);
    }
    for (const [fc, spans] of byFc) {
      spans.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++) {
        t.ok(spans[i - 1]![1] <= spans[i]![0], `FC ${fc}: ${spans[i - 1]![2]} ends before ${spans[i]![2]} starts`);
      }
    }
    t.equal(new Set(p.registers.map((r) => r.obis)).size, p.registers.length, 'OBIS codes unique');
    t.equal(new Set(p.registers.map((r) => r.name)).size, p.registers.length, 'names unique');
  });

  t.test(`${id}: every block within 125 registers and the meter's limit, every register read exactly once`, async (t) => {
    const p = loadProfile(id);
    const blocks = readBlocks(p);
    for (const b of blocks) {
      t.ok(b.quantity >= 1 && b.quantity <= MAX_READ_REGISTERS, `FC ${b.functionCode} @0x${b.address.toString(16)} ×${b.quantity} ≤ 125`);
      t.ok(b.quantity <= p.maxRegistersPerRead, `≤ maxRegistersPerRead ${p.maxRegistersPerRead}`);
      t.equal(b.quantity, b.registers.reduce((n, e) => n + registerWords(e.def), 0), 'no gaps inside a block');
    }
    const read = blocks.flatMap((b) => b.registers.map((e) => e.def.name)).sort();
    t.same(read, p.registers.map((r) => r.name).sort());
  });

  t.test(`${id}: units follow the quantity, energy is integer Wh, 32-bit values big-endian`, async (t) => {
    const p = loadProfile(id);
    for (const r of p.registers) {
      t.equal(r.unit, QUANTITY_UNITS[r.quantity], `${r.name}: ${r.quantity} in ${r.unit}`);
      if (r.quantity === 'active_energy') t.match(r, { unit: 'Wh', scaler: 0, sourceUnit: 'kWh', sourceScaler: 3 }, `${r.name}: kWh → integer Wh`);
      if (registerWords(r) === 2) t.equal(r.wordOrder, 'big', `${r.name}: ABCD`);
    }
  });

  t.test(`${id}: encode then decode returns every register's value`, async (t) => {
    const p = loadProfile(id);
    const physical = (r: RegisterDef): number =>
      ({ voltage: 231.47, current: 5.321, active_power: -1234, reactive_power: 321, power_factor: 0.951, frequency: 49.98,
        active_energy: 12345, reactive_energy: 0, apparent_energy: 0, apparent_power: 0, transformer_ratio: r.scaler < 0 ? 1.5 : 40, serial_number: 24110042 })[r.quantity];
    for (const r of p.registers) {
      const v = physical(r);
      t.equal(decodeRegister(r, encodeRegister(r, v)).value, BigInt(Math.round(v * 10 ** -r.scaler)), `${r.name} ${v}`);
    }
  });
}

t.test('chint-dtsu666: the documented map (manual ZTY0.464.1448 Table 11; mbmd, OpenEMS)', async (t) => {
  const p = loadProfile('chint-dtsu666');
  t.same(p.serial, { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 });
  t.equal(p.defaultUnitId, 1);
  t.same(
    p.registers.map((r) => [r.name, r.address, r.functionCode, r.type, r.obis]),
    [
      ['ct_ratio', 0x0006, 3, 'int16', '1.0.0.4.2.255'],
      ['vt_ratio', 0x0007, 3, 'int16', '1.0.0.4.3.255'],
      ['active_energy_import', 0x101e, 3, 'float32', '1.0.1.8.0.255'],
      ['active_energy_export', 0x1028, 3, 'float32', '1.0.2.8.0.255'],
      ['voltage_l1', 0x2006, 3, 'float32', '1.0.32.7.0.255'],
      ['voltage_l2', 0x2008, 3, 'float32', '1.0.52.7.0.255'],
      ['voltage_l3', 0x200a, 3, 'float32', '1.0.72.7.0.255'],
      ['current_l1', 0x200c, 3, 'float32', '1.0.31.7.0.255'],
      ['current_l2', 0x200e, 3, 'float32', '1.0.51.7.0.255'],
      ['current_l3', 0x2010, 3, 'float32', '1.0.71.7.0.255'],
      ['active_power', 0x2012, 3, 'float32', '1.0.16.7.0.255'],
      ['active_power_l1', 0x2014, 3, 'float32', '1.0.36.7.0.255'],
      ['active_power_l2', 0x2016, 3, 'float32', '1.0.56.7.0.255'],
      ['active_power_l3', 0x2018, 3, 'float32', '1.0.76.7.0.255'],
      ['frequency', 0x2044, 3, 'float32', '1.0.14.7.0.255'],
    ],
  );
  t.same(
    readBlocks(p).map((b) => [b.address, b.quantity]),
    [[0x0006, 2], [0x101e, 2], [0x1028, 2], [0x2006, 20], [0x2044, 2]],
    'five requests: ratios, import, export, Ua..Pc, frequency',
  );
});

t.test('chint-dtsu666: scaled floats decode to V, A, W, Hz and integer Wh', async (t) => {
  const p = loadProfile('chint-dtsu666');
  t.equal(value(p, 'voltage_l1', '450fd000'), 23010n, '2301.0 × 0.1 V = 230.10 V');
  t.equal(value(p, 'current_l2', '45a41000'), 5250n, '5250.0 × 0.001 A = 5.250 A');
  t.equal(value(p, 'active_power', 'c640e400'), -1235n, '-12345.0 × 0.1 W = -1234.5 W, half away from zero');
  t.equal(value(p, 'active_power_l3', '44454000'), 79n, '789.0 × 0.1 W = 78.9 W → 79 W');
  t.equal(value(p, 'frequency', '459c3800'), 4999n, '4999.0 × 0.01 Hz = 49.99 Hz');
  t.equal(value(p, 'active_energy_import', '4640e6b6'), 12345678n, '12345.678 kWh = 12 345 678 Wh');
  t.equal(value(p, 'ct_ratio', '0028'), 40n, 'IrAt 40 (200/5 A CTs)');
  t.same(decodeRegister(reg(p, 'vt_ratio'), hex('000a')), { value: 10n, scaler: -1, unit: '1' }, 'UrAt 10 = ratio 1.0 (manual note 1)');
});

t.test('eastron-sdm120: the documented map (Eastron SDM120 protocol; Tasmota, reaper7)', async (t) => {
  const p = loadProfile('eastron-sdm120');
  t.same(p.serial, { baudRate: 2400, dataBits: 8, parity: 'none', stopBits: 1 });
  t.same(
    p.registers.map((r) => [r.name, r.address, r.functionCode, r.obis]),
    [
      ['voltage', 0x0000, 4, '1.0.32.7.0.255'],
      ['current', 0x0006, 4, '1.0.31.7.0.255'],
      ['active_power', 0x000c, 4, '1.0.16.7.0.255'],
      ['frequency', 0x0046, 4, '1.0.14.7.0.255'],
      ['active_energy_import', 0x0048, 4, '1.0.1.8.0.255'],
      ['active_energy_export', 0x004a, 4, '1.0.2.8.0.255'],
      ['active_energy_total', 0x0156, 4, '1.0.15.8.0.255'],
    ],
  );
  t.same(readBlocks(p).map((b) => [b.address, b.quantity]), [[0x0000, 2], [0x0006, 2], [0x000c, 2], [0x0046, 6], [0x0156, 2]]);
});

t.test('eastron-sdm120: a real answer (01 04 04 43 66 33 34 1B 38, Tasmota) and its sample values decode', async (t) => {
  const p = loadProfile('eastron-sdm120');
  t.equal(value(p, 'voltage', '43663334'), 23020n, '230.2 V');
  t.equal(value(p, 'current', '3fa147ae'), 1260n, '1.260 A');
  t.equal(value(p, 'active_power', 'c3444ccd'), -196n, '-196.3 W: export is negative');
  t.equal(value(p, 'frequency', '42480000'), 5000n, '50.00 Hz');
  const [imp, exp, total] = [value(p, 'active_energy_import', '43ef3efa'), value(p, 'active_energy_export', '40c6e979'), value(p, 'active_energy_total', '43f25aa0')];
  t.same([imp, exp, total], [478492n, 6216n, 484708n], '478.492 + 6.216 = 484.708 kWh, in Wh');
  t.equal(imp + exp, total, 'total is import + export');
  // The block 0x0046×6 as one answer: frequency, import, export.
  const block = readBlocks(p).find((b) => b.address === 0x0046)!;
  const parts = splitBlock(block, hex('42480000 43ef3efa 40c6e979'));
  t.same(parts.map(({ def, raw }) => [def.name, decodeRegister(def, raw).value]), [
    ['frequency', 5000n], ['active_energy_import', 478492n], ['active_energy_export', 6216n],
  ]);
});

t.test('eastron-sdm630: the documented map (SDM630-Modbus V2 manual; Tasmota, reaper7)', async (t) => {
  const p = loadProfile('eastron-sdm630');
  t.same(p.serial, { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 });
  t.equal(p.maxRegistersPerRead, 80, '40 parameters per request');
  t.same(
    p.registers.map((r) => [r.name, r.address, r.functionCode, r.obis]),
    [
      ['voltage_l1', 0x0000, 4, '1.0.32.7.0.255'],
      ['voltage_l2', 0x0002, 4, '1.0.52.7.0.255'],
      ['voltage_l3', 0x0004, 4, '1.0.72.7.0.255'],
      ['current_l1', 0x0006, 4, '1.0.31.7.0.255'],
      ['current_l2', 0x0008, 4, '1.0.51.7.0.255'],
      ['current_l3', 0x000a, 4, '1.0.71.7.0.255'],
      ['active_power_l1', 0x000c, 4, '1.0.36.7.0.255'],
      ['active_power_l2', 0x000e, 4, '1.0.56.7.0.255'],
      ['active_power_l3', 0x0010, 4, '1.0.76.7.0.255'],
      ['active_power', 0x0034, 4, '1.0.16.7.0.255'],
      ['frequency', 0x0046, 4, '1.0.14.7.0.255'],
      ['active_energy_import', 0x0048, 4, '1.0.1.8.0.255'],
      ['active_energy_export', 0x004a, 4, '1.0.2.8.0.255'],
    ],
  );
  t.same(readBlocks(p).map((b) => [b.address, b.quantity]), [[0x0000, 18], [0x0034, 2], [0x0046, 6]]);
});

t.test('eastron-sdm630: one 18-register answer splits into nine phase values', async (t) => {
  const p = loadProfile('eastron-sdm630');
  const [block] = readBlocks(p);
  // 230.1 V, 231.5 V, 229.8 V; 5.25 A, 1.234 A, 2.345 A; 1208 W, -456.7 W, 120.5 W (float32 ABCD)
  const data = hex('4366199a 43678000 4365cccd 40a80000 3f9df3b6 4016147b 44970000 c3e4599a 42f10000');
  t.same(splitBlock(block!, data).map(({ def, raw }) => [def.name, decodeRegister(def, raw).value]), [
    ['voltage_l1', 23010n], ['voltage_l2', 23150n], ['voltage_l3', 22980n],
    ['current_l1', 5250n], ['current_l2', 1234n], ['current_l3', 2345n],
    ['active_power_l1', 1208n], ['active_power_l2', -457n], ['active_power_l3', 121n],
  ]);
  t.equal(value(p, 'active_energy_export', '4640e6b6'), 12345678n, '12345.678 kWh');
});

function ddsu(): Record<string, unknown> & { registers: Array<Record<string, unknown>> } {
  return JSON.parse(JSON.stringify(loadProfile('chint-ddsu666'))) as ReturnType<typeof ddsu>;
}

t.test('schema: a unit that does not fit the quantity is rejected, naming the field', async (t) => {
  const volts = ddsu();
  volts.registers[0]!.unit = 'A';
  t.throws(() => parseProfile(volts), { code: 'PROFILE_INVALID', message: /registers\[0\]\.unit: voltage is reported in V, not A/ });
  const ratioInVolts = ddsu();
  Object.assign(ratioInVolts.registers[5]!, { quantity: 'transformer_ratio', unit: 'Hz' });
  t.throws(() => parseProfile(ratioInVolts), { message: /registers\[5\]\.unit: transformer_ratio is reported in 1/ });
});

t.test('schema: energy must come out as an integer count of Wh (scaler 0)', async (t) => {
  const kwh = ddsu();
  Object.assign(kwh.registers[6]!, { sourceScaler: 0, scaler: 3 });
  t.throws(() => parseProfile(kwh), { message: /registers\[6\]\.scaler: active_energy must have scaler 0/ });
  const fraction = ddsu();
  Object.assign(fraction.registers[7]!, { scaler: -1 });
  t.throws(() => parseProfile(fraction), { message: /registers\[7\]\.scaler/ });
});

t.test('schema: transformer_ratio is a dimensionless register', async (t) => {
  const p = ddsu();
  p.registers.push({ ...p.registers[0]!, name: 'ct_ratio', quantity: 'transformer_ratio', obis: '1.0.0.4.2.255', address: '0x0006',
    type: 'int16', sourceUnit: '1', sourceScaler: 0, unit: '1', scaler: 0 });
  const parsed = parseProfile(p);
  t.match(parsed.registers.at(-1), { quantity: 'transformer_ratio', address: 6, unit: '1' });
});
