import t from 'tap';
import { loadProfile, listProfiles } from './profiles.js';
import { parseProfile } from './schema.js';

t.test('listProfiles lists the shipped DDSU666 profile', async (t) => {
  t.ok(listProfiles().includes('chint-ddsu666'));
});

t.test('the DDSU666 profile loads with the documented map', async (t) => {
  const p = loadProfile('chint-ddsu666');
  t.equal(p.defaultUnitId, 1);
  t.same(p.serial, { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 });
  t.match(p.source, /DDSU666/);
  const by = Object.fromEntries(p.registers.map((r) => [r.name, r]));
  t.match(by.voltage, { address: 0x2000, obis: '1.0.32.7.0.255', type: 'float32', wordOrder: 'big', unit: 'V', scaler: -2 });
  t.match(by.current, { address: 0x2002, obis: '1.0.31.7.0.255', unit: 'A', scaler: -3 });
  t.match(by.active_power, { address: 0x2004, sourceUnit: 'kW', sourceScaler: 3, unit: 'W', scaler: 0 });
  t.match(by.frequency, { address: 0x200e, obis: '1.0.14.7.0.255', unit: 'Hz', scaler: -2 });
  t.match(by.active_energy_import, { address: 0x4000, obis: '1.0.1.8.0.255', unit: 'Wh', scaler: 0, sourceUnit: 'kWh' });
});

t.test('loadProfile rejects ids that could escape the profile folder, and unknown ids', async (t) => {
  for (const id of ['../package', '/etc/passwd', 'CHINT', 'a/b', '']) {
    t.throws(() => loadProfile(id), { name: 'HardwareError', code: 'PROFILE_ID_INVALID' }, id);
  }
  t.throws(() => loadProfile('no-such-meter'), { code: 'PROFILE_NOT_FOUND', message: /chint-ddsu666/ });
});

function goodProfile(): Record<string, unknown> & { registers: Array<Record<string, unknown>> } {
  return JSON.parse(JSON.stringify(loadProfile('chint-ddsu666'))) as ReturnType<typeof goodProfile>;
}

t.test('a malformed profile is rejected with the bad field named', async (t) => {
  const bad = goodProfile();
  bad.registers[2]!.address = 70000;
  t.throws(() => parseProfile(bad), { code: 'PROFILE_INVALID', message: /registers\[2\]\.address/ });

  const badType = goodProfile();
  badType.registers[0]!.type = 'float64';
  t.throws(() => parseProfile(badType), { code: 'PROFILE_INVALID', message: /registers\[0\]\.type/ });

  const badObis = goodProfile();
  badObis.registers[1]!.obis = '1.0.31.7.0.256';
  t.throws(() => parseProfile(badObis), { code: 'PROFILE_INVALID', message: /registers\[1\]\.obis/ });

  const extra = goodProfile();
  extra.registers[0]!.evil = true;
  t.throws(() => parseProfile(extra), { code: 'PROFILE_INVALID', message: /registers\[0\]/ });

  const noSource = goodProfile();
  delete noSource.source;
  t.throws(() => parseProfile(noSource), { code: 'PROFILE_INVALID', message: /source/ });
});

t.test('duplicate names, duplicate OBIS codes and overlapping registers are rejected', async (t) => {
  const dupName = goodProfile();
  dupName.registers[1]!.name = dupName.registers[0]!.name;
  t.throws(() => parseProfile(dupName), { message: /registers\[1\]\.name: duplicate name/ });

  const dupObis = goodProfile();
  dupObis.registers[1]!.obis = dupObis.registers[0]!.obis;
  t.throws(() => parseProfile(dupObis), { message: /registers\[1\]\.obis: duplicate OBIS/ });

  const overlap = goodProfile();
  overlap.registers[1]!.address = 0x2001; // inside voltage's two words
  t.throws(() => parseProfile(overlap), { message: /registers\[1\]\.address: overlaps registers\[0\]/ });

  const pastEnd = goodProfile();
  pastEnd.registers[0]!.address = 0xffff;
  t.throws(() => parseProfile(pastEnd), { message: /registers\[0\]\.address: register runs past/ });
});

t.test('addresses may be hex strings or integers; other strings are rejected', async (t) => {
  const p = goodProfile();
  p.registers[0]!.address = '0x2000';
  t.equal(parseProfile(p).registers[0]!.address, 0x2000);
  p.registers[0]!.address = '8192';
  t.throws(() => parseProfile(p), { message: /registers\[0\]\.address/ });
});
