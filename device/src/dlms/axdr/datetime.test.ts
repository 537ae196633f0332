import t from 'tap';
import { hex, toHex } from '../hdlc/fixtures.js';
import { clockStatusFlags, dateTimeFromEpochMs, dateTimeToEpochMs, encodeDateTime, parseDateTime } from './datetime.js';

t.test('the captured clock: 2026-11-21 13:32:48, deviation 0, status 0', async (t) => {
  const dt = parseDateTime(hex('07ea0b15060d203000000000'));
  t.same(dt, { year: 2026, month: 11, day: 21, dayOfWeek: 6, hour: 13, minute: 32, second: 48, hundredths: 0, deviation: 0, status: 0 });
  t.equal(new Date(dateTimeToEpochMs(dt)).toISOString(), '2026-11-21T13:32:48.000Z');
  t.equal(toHex(encodeDateTime(dt)), '07ea0b15060d203000000000');
  t.same(dateTimeFromEpochMs(Date.parse('2026-11-21T13:32:48Z')), dt, 'and back: 21 Nov 2026 is a Saturday (6)');
});

t.test('deviation: UTC = local + deviation (Paris winter -60, summer -120 with DST)', async (t) => {
  const winter = parseDateTime(hex('07ea010f040d0000ffffc400'));
  t.same([winter.deviation, winter.hundredths, winter.status], [-60, null, 0]);
  t.equal(new Date(dateTimeToEpochMs(winter)).toISOString(), '2026-01-15T12:00:00.000Z');
  const summer = parseDateTime(hex('07ea070f030e000000ff8880'));
  t.equal(summer.deviation, -120);
  t.ok(clockStatusFlags(summer.status!).daylightSavingActive);
  t.equal(new Date(dateTimeToEpochMs(summer)).toISOString(), '2026-07-15T12:00:00.000Z');
  t.equal(new Date(dateTimeToEpochMs(summer, { deviationSign: 'inverted' })).toISOString(), '2026-07-15T16:00:00.000Z');
  t.same(dateTimeFromEpochMs(Date.parse('2026-07-15T12:00:00Z'), { deviation: -120, status: 0x80 }), { ...summer, hundredths: 0, dayOfWeek: 3 });
});

t.test('times that are not a point in time throw CLOCK', async (t) => {
  const bad = [
    'ffff0b15060d203000000000', // year not specified
    '07eaff15060d203000000000',
    '07ea0bfe060d203000000000', // last day of month: a pattern, not a date
    '07ea0b1506ff203000000000',
    '07ea0b15060d2030008000ff', // deviation not specified
    '07ea0b15060d203000000001', // invalid value
    '07ea021e060d203000000000', // 30 February
    '07ea0b15061820300000 0000'.replace(' ', ''), // hour 24
    '07ea0b15060d20300003e800', // deviation +1000
  ];
  for (const h of bad) t.throws(() => dateTimeToEpochMs(parseDateTime(hex(h))), { code: 'CLOCK' }, h);
  const unspecified = parseDateTime(hex('07ea0b15060d2030008000ff'));
  t.equal(new Date(dateTimeToEpochMs(unspecified, { defaultDeviation: -60 })).toISOString(), '2026-11-21T12:32:48.000Z');
  t.throws(() => parseDateTime(new Uint8Array(11)), { code: 'LENGTH' });
  t.throws(() => encodeDateTime({ ...unspecified, deviation: 721 }), { code: 'VALUE' });
});
