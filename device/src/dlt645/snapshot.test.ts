import t from 'tap';
import { pino } from 'pino';
import { loadDlt645Profile } from '@meterseal/hardware';
import { createInProcessLink, createPtyPair, socatAvailable, startDlt645Simulator, type Dlt645SimulatorConfigInput } from '@meterseal/simulator';
import { DI_DATE, DI_TIME, meterClockToUtc, parseMeterDate, parseMeterTime } from './clock.js';
import { Dlt645MeterReader, type Dlt645MeterReaderOptions } from './reader.js';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2026, 2, 10, 7, 0, 5); // 15:00:05 in Beijing
const ADDRESS = '000012345678';
const profile = loadDlt645Profile('dlt645-single-phase');
const hasSocat = await socatAvailable();
const pty = hasSocat ? {} : { skip: 'socat is not installed: pty tests need a real pty pair' };
interface HasTeardown {
  teardown(fn: () => unknown): void;
}

async function rig(t: HasTeardown, sim: Partial<Dlt645SimulatorConfigInput> = {}, opts: Partial<Dlt645MeterReaderOptions> = {}, clock = { now: T0 }) {
  const { clientPort, serverStream, close } = createInProcessLink();
  t.teardown(close);
  const handle = await startDlt645Simulator({ address: ADDRESS, initialEnergyWh: 1500, ...sim }, { log, stream: serverStream, clock: () => clock.now });
  t.teardown(() => handle.close());
  const reader = new Dlt645MeterReader({ stream: clientPort, address: ADDRESS, profile, timeoutMs: 500, backoffMs: 1, ...opts });
  t.teardown(() => reader.close());
  await reader.open();
  return { reader, sim: handle };
}

t.test('over a real pty: identity is the 12-digit address, the clock is the meter\'s Beijing time as UTC', pty, async (t) => {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const sim = await startDlt645Simulator({ path: pair.a, address: ADDRESS, initialEnergyWh: 1500 }, { log, clock: () => T0 });
  t.teardown(() => sim.close());
  const reader = new Dlt645MeterReader({ path: pair.b, address: ADDRESS, profile, timeoutMs: 1000 });
  t.teardown(() => reader.close());
  await reader.open();
  const snap = await reader.snapshot();
  t.equal(snap.meterIdentity, ADDRESS);
  t.same(snap.meterClock, { timeMs: BigInt(T0), deviationMin: null, status: null });
  t.equal(snap.retries, 0);
  t.equal(snap.samples.length, profile.identifiers.length);
});

t.test('the configured meter time zone is applied: a reader assuming UTC is 8 hours off', async (t) => {
  const { reader } = await rig(t, {}, { utcOffsetMin: 0 });
  t.equal((await reader.snapshot()).meterClock!.timeMs, BigInt(T0 + 8 * 3_600_000));
});

t.test('a drifting meter clock shows in the snapshot', async (t) => {
  const clock = { now: T0 };
  const { reader } = await rig(t, { faults: { driftPpm: 10_000 } }, {}, clock);
  clock.now += 100_000; // 100 s later the meter is 1 s ahead
  t.equal((await reader.snapshot()).meterClock!.timeMs, BigInt(T0 + 101_000));
});

t.test('a meter without a clock (abnormal answer, no data) gives meterClock null; readClock false skips it', async (t) => {
  const none = await rig(t, { hasClock: false });
  const snap = await none.reader.snapshot();
  t.equal(snap.meterClock, null);
  t.equal(snap.meterIdentity, ADDRESS);
  const skip = await rig(t, {}, { readClock: false });
  const before = skip.sim.stats().frames;
  t.equal((await skip.reader.snapshot()).meterClock, null);
  t.equal(skip.sim.stats().frames - before, profile.identifiers.length, 'no clock requests');
});

t.test('retries of the scan are counted', async (t) => {
  const { clientPort, serverStream, close } = createInProcessLink({
    toClient: (() => {
      let n = 0;
      return (f: Uint8Array) => (n++ === 1 ? Uint8Array.from(f, (b, i) => (i === f.length - 2 ? b ^ 1 : b)) : f); // second answer: bad CS
    })(),
  });
  t.teardown(close);
  const sim = await startDlt645Simulator({ address: ADDRESS }, { log, stream: serverStream, clock: () => T0 });
  t.teardown(() => sim.close());
  const reader = new Dlt645MeterReader({ stream: clientPort, address: ADDRESS, profile, timeoutMs: 300, backoffMs: 1 });
  t.teardown(() => reader.close());
  await reader.open();
  const snap = await reader.snapshot();
  t.equal(snap.retries, 1);
  t.equal(reader.lastReadRetried, true);
});

t.test('clock fields: parsed from BCD (low byte first), hostile values are typed errors', async (t) => {
  t.equal(DI_DATE, '04000101');
  t.equal(DI_TIME, '04000102');
  t.same(parseMeterDate(Uint8Array.of(0x00, 0x01, 0x02, 0x26)), { year: 2026, month: 2, day: 1 });
  t.equal(parseMeterTime(Uint8Array.of(0x58, 0x59, 0x01)), 1 * 3600 + 59 * 60 + 58);
  t.equal(meterClockToUtc({ year: 2026, month: 2, day: 1 }, 3600, 480), BigInt(Date.UTC(2026, 0, 31, 17, 0, 0)));
  t.throws(() => parseMeterDate(Uint8Array.of(0x00, 0x30, 0x02, 0x26)), { code: 'BCD' }, '30 February');
  t.throws(() => parseMeterDate(Uint8Array.of(0x07, 0x01, 0x02, 0x26)), { code: 'BCD' }, 'weekday 7');
  t.throws(() => parseMeterDate(Uint8Array.of(0x0a, 0x01, 0x02, 0x26)), { code: 'BCD' }, 'not BCD');
  t.throws(() => parseMeterDate(Uint8Array.of(0x01, 0x02, 0x26)), { code: 'LENGTH' });
  t.throws(() => parseMeterTime(Uint8Array.of(0x00, 0x60, 0x12)), { code: 'BCD' }, 'minute 60');
  t.throws(() => parseMeterTime(Uint8Array.of(0x00, 0x00, 0x24)), { code: 'BCD' }, 'hour 24');
  t.throws(() => parseMeterTime(new Uint8Array(4)), { code: 'LENGTH' });
});

t.test('midnight between the date and the time request: the date is read again', async (t) => {
  const beforeMidnight = Date.UTC(2026, 2, 10, 15, 59, 59, 500); // 23:59:59.5 in Beijing
  const clock = { now: beforeMidnight };
  let answers = 0;
  const { clientPort, serverStream, close } = createInProcessLink({
    toClient: (f) => {
      if (++answers === profile.identifiers.length + 1) clock.now = beforeMidnight + 2_500; // after the date answer
      return f;
    },
  });
  t.teardown(close);
  const sim = await startDlt645Simulator({ address: ADDRESS }, { log, stream: serverStream, clock: () => clock.now });
  t.teardown(() => sim.close());
  const reader = new Dlt645MeterReader({ stream: clientPort, address: ADDRESS, profile, timeoutMs: 500 });
  t.teardown(() => reader.close());
  await reader.open();
  const snap = await reader.snapshot();
  t.equal(snap.meterClock!.timeMs, BigInt(Date.UTC(2026, 2, 10, 16, 0, 2)), '00:00:02 on the new day, not the old one');
});

t.test('over a real pty: broadcast time synchronisation sets the meter clock, and the next snapshot shows it', pty, async (t) => {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const sim = await startDlt645Simulator({ path: pair.a, address: ADDRESS, initialEnergyWh: 1500 }, { log });
  t.teardown(() => sim.close());
  const reader = new Dlt645MeterReader({ path: pair.b, address: ADDRESS, profile, timeoutMs: 1000 });
  t.teardown(() => reader.close());
  await reader.open();
  const target = BigInt(Date.now() - 2 * 3_600_000); // a clock two hours behind, as a test of the step
  await reader.setClock(target);
  const after = (await reader.snapshot()).meterClock!.timeMs;
  t.ok(after - target >= -1000n && after - target < 5000n, `the meter now reads the time sent (off by ${after - target} ms)`);
  t.ok(sim.model.snapshot().energyImportMilliWh >= 1_500_000n, 'the meter\'s energy register did not step back with its clock');
  await reader.setClock(BigInt(Date.now()));
  const back = (await reader.snapshot()).meterClock!.timeMs;
  t.ok(Math.abs(Number(back) - Date.now()) < 5000, 'and back to the right time');
});

t.test('a meter that ignores the broadcast (no clock) is CLOCK_NOT_SET, never a silent success', async (t) => {
  const { reader } = await rig(t, { hasClock: false });
  await t.rejects(reader.setClock(BigInt(T0)), { code: 'CLOCK_NOT_SET' });
});

t.test('with the meter\'s own clock standing still, a clock set a day ahead reads back to the second', async (t) => {
  const { reader } = await rig(t);
  await reader.setClock(BigInt(T0 + 86_400_000));
  t.equal((await reader.snapshot()).meterClock!.timeMs, BigInt(T0 + 86_400_000), 'a day ahead, to the second');
});
