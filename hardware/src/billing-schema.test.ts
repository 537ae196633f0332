// Billing-grade profile fields (issue 4 item 1): time-of-use registers, rollover, maximum power, serial
// number, event log and load-profile captures, in both profile kinds.
import t from 'tap';
import { listProfiles, loadDlt645Profile, loadProfile } from './profiles.js';
import { parseDlt645Profile } from './dlt645-schema.js';
import { parseProfile } from './schema.js';
import { isEnergyObis, tariffOf } from './billing-schema.js';

const modbusIds = listProfiles().filter((id) => !id.startsWith('dlt645') && !id.startsWith('dlms'));

function dltData(): Record<string, unknown> & { identifiers: Array<Record<string, unknown>>; events: Array<Record<string, unknown>> } {
  const p = loadDlt645Profile('dlt645-single-phase');
  return { ...p, identifiers: p.identifiers.map(({ length: _l, decimals: _d, ...d }) => ({ ...d })), events: p.events.map((e) => ({ ...e })) };
}

function modbusData(id = 'chint-ddsu666'): Record<string, unknown> & { registers: Array<Record<string, unknown>> } {
  const p = loadProfile(id);
  return { ...p, registers: p.registers.map((r) => ({ ...r })) };
}

t.test('DL/T 645: the four time-of-use tariffs are energy registers with the standard DIs and a rollover', async (t) => {
  const p = loadDlt645Profile('dlt645-single-phase');
  for (const n of [1, 2, 3, 4]) {
    const d = p.identifiers.find((x) => x.di === `00010${n}00`);
    t.match(d, { obis: `1.0.1.8.${n}.255`, quantity: 'active_energy', unit: 'Wh', rollover: 1_000_000_000 }, `tariff ${n}`);
    t.equal(tariffOf(d!.obis), n);
  }
  t.equal(tariffOf('1.0.1.8.0.255'), null, 'E = 0 is the total, not a tariff');
  t.ok(p.identifiers.filter((d) => d.quantity === 'active_energy').every((d) => d.rollover === 1_000_000_000), 'XXXXXX.XX kWh wraps at 10^6 kWh');
  t.equal(p.maxPowerW, 26_400);
});

t.test('DL/T 645: the event log names cover, terminal cover and power failure counters, each cited', async (t) => {
  const p = loadDlt645Profile('dlt645-single-phase');
  t.same(p.events.map((e) => [e.kind, e.di, e.format, e.holds]), [
    ['meter_cover_opened', '03300D00', 'XXXXXX', 'count'],
    ['terminal_cover_opened', '03300E00', 'XXXXXX', 'count'],
    ['power_failure', '03110000', 'XXXXXX', 'count'],
  ]);
  for (const e of p.events) t.match(e.citation, /DL\/T 645-2007 Appendix A/);
  t.same(p.loadProfiles, [], 'no load profile mapped');
  t.match(p.notes.join(' '), /load-record mode word/, 'and the notes say why');
  t.match(p.notes.join(' '), /03350000/, 'the unconfirmed magnetic-tamper identifier is named in the notes, not mapped');
});

t.test('DL/T 645: a rollover past what the BCD format can show, or on a voltage, is refused', async (t) => {
  const past = dltData();
  past.identifiers.find((d) => d.di === '00010000')!.rollover = 1_000_000_010;
  t.throws(() => parseDlt645Profile(past), { code: 'PROFILE_INVALID', message: /identifiers\[1\]\.rollover: XXXXXX\.XX kWh wraps by 1000000000 Wh/ });
  const volts = dltData();
  volts.identifiers.find((d) => d.di === '02010100')!.rollover = 1000;
  t.throws(() => parseDlt645Profile(volts), { message: /rollover: only energy registers have a rollover/ });
  const wrongObis = dltData();
  wrongObis.identifiers.find((d) => d.di === '02010100')!.obis = '1.0.32.8.0.255';
  t.throws(() => parseDlt645Profile(wrongObis), { message: /obis: 1\.0\.32\.8\.0\.255 and quantity voltage disagree/ });
  const badEvent = dltData();
  badEvent.events[0]!.kind = 'door_opened';
  t.throws(() => parseDlt645Profile(badEvent), { message: /events\[0\]\.kind/ });
  const uncited = dltData();
  uncited.events[0]!.citation = '';
  t.throws(() => parseDlt645Profile(uncited), { message: /events\[0\]\.citation/ });
});

t.test('Modbus: every profile says in its notes what billing-grade data the model lacks; maxPowerW where fixed', async (t) => {
  for (const id of modbusIds) {
    const p = loadProfile(id);
    t.match(p.notes.join(' '), /time-of-use/, `${id}: tariffs addressed`);
    t.match(p.notes.join(' '), /[Rr]ollover/, `${id}: rollover addressed`);
    t.match(p.notes.join(' '), /meter\.identity/, `${id}: identity addressed`);
    for (const r of p.registers) t.equal(tariffOf(r.obis) !== null || isEnergyObis(r.obis), r.quantity.endsWith('_energy'), `${id} ${r.name}`);
  }
  t.equal(loadProfile('chint-dtsu666').maxPowerW, undefined, 'a CT-connected meter has no fixed maximum');
  t.equal(loadProfile('eastron-sdm630').maxPowerW, 82_800);
});

t.test('Modbus: a serial_number register is an identity (0.0.96.1.x.255, unit 1), at most one; energy fields only on energy', async (t) => {
  const ok = modbusData();
  ok.registers.push({ name: 'serial_number', quantity: 'serial_number', obis: '0.0.96.1.0.255', address: 0x4100, functionCode: 3, type: 'uint32', sourceUnit: 'number', sourceScaler: 0, unit: '1', scaler: 0 });
  t.equal(parseProfile(ok).registers.at(-1)?.quantity, 'serial_number');
  const twice = modbusData();
  twice.registers.push({ ...ok.registers.at(-1)!, name: 'serial_a' }, { ...ok.registers.at(-1)!, name: 'serial_b', address: 0x4200, obis: '0.0.96.1.1.255' });
  t.throws(() => parseProfile(twice), { message: /at most one serial_number register/ });
  const wrongObis = modbusData();
  wrongObis.registers.push({ ...ok.registers.at(-1)!, obis: '1.0.0.0.0.255' });
  t.throws(() => parseProfile(wrongObis), { message: /0\.0\.96\.1\.x\.255/ });
  const rollVolt = modbusData();
  rollVolt.registers[0]!.rollover = 1000;
  t.throws(() => parseProfile(rollVolt), { message: /registers\[0\]\.rollover: only energy registers/ });
  const roll = modbusData();
  const energy = roll.registers.find((r) => r.quantity === 'active_energy')!;
  energy.rollover = 100_000_000_000;
  energy.maxRatePerHour = 20_000;
  t.match(parseProfile(roll).registers.find((r) => r.quantity === 'active_energy'), { rollover: 100_000_000_000, maxRatePerHour: 20_000 });
  const event = modbusData();
  event.events = [{ kind: 'power_failure', address: 0x5000, functionCode: 3, type: 'uint16', holds: 'count', citation: 'a made-up manual, for the test' }];
  t.equal(parseProfile(event).events[0]?.kind, 'power_failure');
  event.events = [{ kind: 'power_failure', address: 0x5000, functionCode: 3, type: 'float32', holds: 'count', citation: 'a made-up manual, for the test' }];
  t.throws(() => parseProfile(event), { message: /events\[0\]\.type/ });
  const lp = modbusData();
  lp.loadProfiles = [{ obis: '1.0.99.1.0.255', intervalS: 900, captures: ['1.0.1.8.0.255'], citation: 'a made-up manual, for the test' }];
  t.equal(parseProfile(lp).loadProfiles[0]?.intervalS, 900);
  lp.loadProfiles = [{ obis: '1.0.99.1.0.255', intervalS: 0, captures: ['1.0.1.8.0.255'], citation: 'a made-up manual, for the test' }];
  t.throws(() => parseProfile(lp), { message: /loadProfiles\[0\]\.intervalS/ });
});
