import t from 'tap';
import { loadDlt645Profile, loadProfile, listProfiles } from './profiles.js';
import { parseDlt645Profile } from './dlt645-schema.js';

t.test('the DL/T 645 single-phase profile loads with the standard formats', async (t) => {
  t.ok(listProfiles().includes('dlt645-single-phase'));
  const p = loadDlt645Profile('dlt645-single-phase');
  t.equal(p.protocol, 'dlt645');
  t.same(p.serial, { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 }, 'DL/T 645-2007 §5.1: 8E1');
  t.match(p.notes.join(' '), /8E1/);
  const by = Object.fromEntries(p.identifiers.map((d) => [d.di, d]));
  t.match(by['00010000'], { obis: '1.0.1.8.0.255', length: 4, decimals: 2, unit: 'Wh', scaler: 0, signed: false });
  t.match(by['00000000'], { obis: '1.0.15.8.0.255', signed: true, scaler: 0 });
  t.match(by['02010100'], { obis: '1.0.32.7.0.255', length: 2, unit: 'V', scaler: -1 });
  t.match(by['02020100'], { length: 3, unit: 'A', scaler: -3, signed: true });
  t.match(by['02030000'], { length: 3, unit: 'W', scaler: -1, signed: true });
  for (const tariff of [1, 2, 3, 4]) t.match(by[`00010${tariff}00`], { obis: `1.0.1.8.${tariff}.255` });
});

t.test('each loader refuses the other kind, naming the protocol field', async (t) => {
  t.throws(() => loadProfile('dlt645-single-phase'), { code: 'PROFILE_INVALID', message: /protocol: a DL\/T 645 profile/ });
  t.throws(() => loadDlt645Profile('chint-ddsu666'), { code: 'PROFILE_INVALID', message: /not a DL\/T 645 profile/ });
  t.throws(() => loadDlt645Profile('../chint-ddsu666'), { code: 'PROFILE_ID_INVALID' });
});

function good(): Record<string, unknown> & { identifiers: Array<Record<string, unknown>> } {
  const p = loadDlt645Profile('dlt645-single-phase');
  return {
    ...p,
    identifiers: p.identifiers.map(({ length: _l, decimals: _d, ...d }) => ({ ...d })),
  };
}

t.test('a round trip through the schema is stable', async (t) => {
  t.same(parseDlt645Profile(good()), loadDlt645Profile('dlt645-single-phase'));
});

t.test('malformed DL/T 645 profiles are rejected with the field named', async (t) => {
  const cases: Array<[string, (p: ReturnType<typeof good>) => void, RegExp]> = [
    ['odd digit count', (p) => (p.identifiers[0]!.format = 'XXX.XX'), /identifiers\[0\]\.format: must have an even number/],
    ['not a format', (p) => (p.identifiers[1]!.format = '9999.99'), /identifiers\[1\]\.format/],
    ['short DI', (p) => (p.identifiers[2]!.di = '0001010'), /identifiers\[2\]\.di/],
    ['duplicate DI', (p) => (p.identifiers[3]!.di = p.identifiers[2]!.di), /identifiers\[3\]\.di: duplicate di/],
    ['duplicate OBIS', (p) => (p.identifiers[3]!.obis = p.identifiers[2]!.obis), /identifiers\[3\]\.obis: duplicate obis/],
    ['unknown key', (p) => (p.identifiers[0]!.address = 1), /identifiers\[0\]/],
    ['bad unit', (p) => (p.identifiers[0]!.unit = 'kWh'), /identifiers\[0\]\.unit/],
    ['wrong protocol', (p) => (p.protocol = 'modbus'), /protocol/],
    ['no identifiers', (p) => (p.identifiers = []), /identifiers/],
    ['scaler coarser than the format', (p) => (p.identifiers[7]!.scaler = 0), /identifiers\[7\]\.scaler: must be at most -1/],
    ['energy not in whole Wh', (p) => (p.identifiers[1]!.scaler = 1), /identifiers\[1\]\.scaler: active_energy must have scaler 0/],
  ];
  for (const [name, mutate, message] of cases) {
    const p = good();
    mutate(p);
    t.throws(() => parseDlt645Profile(p), { name: 'HardwareError', code: 'PROFILE_INVALID', message }, name);
  }
});

t.test('DIs are normalised to upper case', async (t) => {
  const p = good();
  p.identifiers[0]!.di = '0201ff00';
  t.equal(parseDlt645Profile(p).identifiers[0]!.di, '0201FF00');
});
