import t from 'tap';
import { decodeRegister, encodeRegister } from './codec.js';
import { HardwareError } from './errors.js';
import { loadProfile } from './profiles.js';
import type { RegisterDef } from './schema.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));

function def(over: Partial<RegisterDef>): RegisterDef {
  return {
    name: 'x', quantity: 'voltage', obis: '1.0.32.7.0.255', address: 0, functionCode: 3, type: 'float32',
    wordOrder: 'big', sourceUnit: 'V', sourceScaler: 0, unit: 'V', scaler: -2, ...over,
  };
}

t.test('float32 230.5 V (43 66 80 00) decodes to 23050 at scaler -2', async (t) => {
  t.same(decodeRegister(def({}), hex('43668000')), { value: 23050n, scaler: -2, unit: 'V' });
});

t.test('float32 from a real DDSU666 answer (43 66 33 34, 230.2 V) rounds to 23020', async (t) => {
  t.equal(decodeRegister(def({}), hex('43663334')).value, 23020n);
});

t.test('12.345 kWh (41 45 85 1F) becomes exactly 12345 Wh, a bigint, scaler 0', async (t) => {
  const energy = def({ quantity: 'active_energy', sourceUnit: 'kWh', sourceScaler: 3, unit: 'Wh', scaler: 0 });
  const d = decodeRegister(energy, hex('4145851f'));
  t.equal(typeof d.value, 'bigint');
  t.same(d, { value: 12345n, scaler: 0, unit: 'Wh' });
});

t.test('little word order (CDAB): 80 00 43 66 is 230.5 V', async (t) => {
  t.equal(decodeRegister(def({ wordOrder: 'little' }), hex('80004366')).value, 23050n);
  t.not(decodeRegister(def({ wordOrder: 'big' }), hex('80004366')).value, 23050n, 'the same bytes read big-endian are something else');
});

t.test('negative kW power becomes negative W: -0.1963 kW (BE 49 02 DE) → -196 W', async (t) => {
  const p = def({ quantity: 'active_power', sourceUnit: 'kW', sourceScaler: 3, unit: 'W', scaler: 0 });
  t.equal(decodeRegister(p, hex('be4902de')).value, -196n);
});

t.test('integer registers convert exactly with bigint arithmetic', async (t) => {
  // uint32 in 0.01 kWh (sourceScaler 1: × 10 = Wh): 0x0001E240 = 123456 → 1234560 Wh
  const e = def({ type: 'uint32', sourceUnit: '0.01 kWh', sourceScaler: 1, unit: 'Wh', scaler: 0 });
  t.equal(decodeRegister(e, hex('0001e240')).value, 1234560n);
  t.equal(decodeRegister({ ...e, wordOrder: 'little' }, hex('e2400001')).value, 1234560n);
  // 0xFFFFFFFF stays unsigned and exact
  t.equal(decodeRegister({ ...e, sourceScaler: 0 }, hex('ffffffff')).value, 4294967295n);
  // int32 sign
  t.equal(decodeRegister(def({ type: 'int32', unit: 'W', scaler: 0 }), hex('fffffc18')).value, -1000n);
  // int16 in 0.1 V shown at scaler 0: -25 × 0.1 = -2.5 → -3 (half away from zero), 25 → 3
  const v = def({ type: 'int16', sourceScaler: -1, scaler: 0 });
  t.equal(decodeRegister(v, hex('ffe7')).value, -3n);
  t.equal(decodeRegister(v, hex('0019')).value, 3n);
  t.equal(decodeRegister(def({ type: 'uint16', sourceScaler: -2, scaler: -2 }), hex('5a0a')).value, 0x5a0an);
});

t.test('NaN and Infinity are INVALID_VALUE, never a number', async (t) => {
  for (const bytes of ['7fc00000', '7f800000', 'ff800000']) {
    t.throws(() => decodeRegister(def({}), hex(bytes)), { name: 'HardwareError', code: 'INVALID_VALUE' }, bytes);
  }
});

t.test('a byte count that does not match the type is RAW_LENGTH', async (t) => {
  t.throws(() => decodeRegister(def({}), hex('4366')), { code: 'RAW_LENGTH' });
  t.throws(() => decodeRegister(def({ type: 'uint16' }), hex('43668000')), { code: 'RAW_LENGTH' });
});

t.test('round trip: encodeRegister then decodeRegister for every register of the DDSU666 profile', async (t) => {
  const profile = loadProfile('chint-ddsu666');
  const physical: Record<string, number> = {
    voltage: 231.47, current: 5.321, active_power: 1234, reactive_power: -321, power_factor: 0.951,
    frequency: 49.98, active_energy_import: 12345, active_energy_export: 678,
  };
  for (const r of profile.registers) {
    const v = physical[r.name];
    if (v === undefined) { t.fail(`no test value for ${r.name}`); continue; }
    const raw = encodeRegister(r, v);
    const d = decodeRegister(r, raw);
    t.equal(d.value, BigInt(Math.round(v * 10 ** -r.scaler)), `${r.name} ${v} → ${d.value}e${d.scaler}`);
  }
});

t.test('encodeRegister writes the documented wire bytes', async (t) => {
  t.same(encodeRegister(def({}), 230.5), hex('43668000'));
  t.same(encodeRegister(def({ wordOrder: 'little' }), 230.5), hex('80004366'));
  t.same(encodeRegister(def({ sourceScaler: 3, unit: 'Wh', scaler: 0 }), 12345), hex('4145851f'));
  t.same(encodeRegister(def({ type: 'int16', scaler: 0 }), -2), hex('fffe'));
});

t.test('encodeRegister refuses values the register cannot hold', async (t) => {
  t.throws(() => encodeRegister(def({ type: 'uint16' }), 70000), { code: 'OUT_OF_RANGE' });
  t.throws(() => encodeRegister(def({ type: 'uint32' }), -1), { code: 'OUT_OF_RANGE' });
  t.throws(() => encodeRegister(def({}), 1e39), { code: 'OUT_OF_RANGE' });
  t.throws(() => encodeRegister(def({}), Number.NaN), { code: 'INVALID_VALUE' });
  t.ok(new HardwareError('X', 'y') instanceof Error);
});
