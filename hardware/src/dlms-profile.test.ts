import t from 'tap';
import { listProfiles } from './profiles.js';
import { dlmsProfileSchema, loadDlmsProfile, parseDlmsProfile } from './dlms-profile.js';

t.test('the shipped DLMS profile lists the issue 4 objects with class, attribute, scaler/unit and rollover', async (t) => {
  t.ok(listProfiles().includes('dlms-single-phase'));
  const p = loadDlmsProfile('dlms-single-phase');
  const by = new Map(p.registers.map((r) => [r.obis, r]));
  for (const o of ['1.0.1.8.0.255', '1.0.2.8.0.255', '1.0.32.7.0.255', '1.0.31.7.0.255', '1.0.1.7.0.255', '1.0.1.8.1.255', '1.0.1.8.2.255', '1.0.1.8.3.255', '1.0.1.8.4.255']) {
    t.ok(by.has(o), o);
  }
  t.equal(by.get('1.0.1.8.0.255')!.classId, 3);
  t.equal(by.get('1.0.1.8.0.255')!.rollover, '4294967295');
  t.equal(by.get('1.0.32.7.0.255')!.rollover, null);
  t.equal(by.get('1.0.1.8.3.255')!.tariff, 3);
  t.same([p.clock.obis, p.clock.classId], ['0.0.1.0.0.255', 8]);
  t.same(p.identity.map((i) => i.obis), ['0.0.96.1.0.255', '0.0.42.0.0.255']);
  t.equal(p.loadProfile!.obis, '1.0.99.1.0.255');
  t.equal(p.serial.baudRate, 9600);
});

t.test('invalid DLMS profiles are refused naming the field', async (t) => {
  const good = JSON.parse(JSON.stringify(dlmsProfileSchema.parse(loadDlmsProfile('dlms-single-phase'))));
  const bad = (mutate: (p: any) => void) => {
    const p = JSON.parse(JSON.stringify(good));
    mutate(p);
    return p;
  };
  t.throws(() => parseDlmsProfile(bad((p) => (p.registers[0].rollover = null))), /registers\[0\]\.rollover/);
  t.throws(() => parseDlmsProfile(bad((p) => (p.registers[6].unit = 'A'))), /registers\[6\]\.unit/);
  t.throws(() => parseDlmsProfile(bad((p) => (p.registers[1].obis = p.registers[0].obis))), /duplicate obis/);
  t.throws(() => parseDlmsProfile(bad((p) => (p.clock.classId = 1))), /clock\.classId/);
  t.throws(() => parseDlmsProfile(bad((p) => (p.loadProfile.columns[0].classId = 3))), /loadProfile\.columns\[0\]/);
  t.throws(() => loadDlmsProfile('../etc/passwd'), { code: 'PROFILE_ID_INVALID' });
  t.throws(() => loadDlmsProfile('dlms-nope'), { code: 'PROFILE_NOT_FOUND' });
  t.throws(() => loadDlmsProfile('chint-ddsu666'), { code: 'PROFILE_ID_INVALID' });
});
