import t from 'tap';
import { pino } from 'pino';
import { decodeRegister, loadProfile, parseProfile, readBlocks } from '@meterseal/hardware';
import { createInProcessLink, createPtyPair, socatAvailable, startSimulator, type InProcessLinkOptions } from '@meterseal/simulator';
import { ModbusMeterReader, serialNumberText, type ModbusMeterReaderOptions, type RegisterSample } from './modbus-reader.js';
import { MeterReadError } from './errors.js';

const log = pino({ level: 'silent' });
const profile = loadProfile('chint-ddsu666');
const T0 = Date.UTC(2025, 2, 10, 7, 0, 0);
interface HasTeardown {
  teardown(fn: () => unknown): void;
}
type Rig = { reader: ModbusMeterReader; sim: Awaited<ReturnType<typeof startSimulator>>; clock: { now: number } };

async function ptyRig(t: HasTeardown, opts: Partial<ModbusMeterReaderOptions> = {}): Promise<Rig> {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const clock = { now: T0 };
  const sim = await startSimulator({ path: pair.a, seed: 4, initialEnergyWh: 1500 }, { log, clock: () => clock.now });
  t.teardown(() => sim.close());
  const reader = new ModbusMeterReader({ path: pair.b, baudRate: 9600, profile, ...opts });
  t.teardown(() => reader.close());
  await reader.open();
  return { reader, sim, clock };
}

async function linkRig(t: HasTeardown, opts: Partial<ModbusMeterReaderOptions> = {}, link: InProcessLinkOptions = {}): Promise<Rig> {
  const { clientPort, serverStream, close } = createInProcessLink(link);
  t.teardown(close);
  const clock = { now: T0 };
  const simProfile = opts.profile ? { profile: opts.profile } : {};
  const sim = await startSimulator({ seed: 4, initialEnergyWh: 1500 }, { log, stream: serverStream, clock: () => clock.now, ...simProfile });
  t.teardown(() => sim.close());
  const reader = new ModbusMeterReader({ port: clientPort, profile, ...opts });
  t.teardown(() => reader.close());
  await reader.open();
  return { reader, sim, clock };
}

const byName = (samples: RegisterSample[]): Record<string, RegisterSample> => Object.fromEntries(samples.map((s) => [s.name, s]));
const f32 = (x: number, scaler: number): bigint => BigInt(Math.round(Math.fround(x) * 10 ** -scaler));

async function checkReads(t: Tap, { reader, sim, clock }: Rig): Promise<void> {
  const first = await reader.read();
  t.same(first.map((s) => s.name), profile.registers.map((r) => r.name), 'every register, in profile order');
  t.equal(sim.stats().responses, readBlocks(profile).length, 'one request per block');
  for (const s of first) {
    const def = profile.registers.find((r) => r.name === s.name)!;
    t.equal(s.raw.length, 4, `${s.name}: raw float32 bytes kept`);
    t.same(decodeRegister(def, s.raw), { value: s.value, scaler: s.scaler, unit: s.unit }, `${s.name}: raw decodes to the value`);
    t.equal(s.obis, def.obis);
  }
  const snap = sim.model.snapshot();
  const a = byName(first);
  t.equal(a.voltage!.value, f32(snap.voltageV, -2), 'voltage matches the model');
  t.equal(a.active_power!.value, f32(snap.activePowerW / 1000, -3), 'power matches the model');
  t.equal(a.active_energy_import!.value, 1500n, 'initial energy, in Wh');
  t.equal(a.active_energy_import!.unit, 'Wh');

  clock.now += 2 * 3_600_000; // two hours of household load
  const second = byName(await reader.read());
  const expectedWh = BigInt(Math.round(Math.fround(Number(sim.model.energyImportMilliWh()) / 1000 / 1000) * 1000));
  t.ok(second.active_energy_import!.value > a.active_energy_import!.value, `energy grew to ${second.active_energy_import!.value} Wh`);
  t.equal(second.active_energy_import!.value, expectedWh, 'by exactly what the model integrated');
  t.equal(reader.lastReadRetried, false);
}
type Tap = Pick<typeof t, 'equal' | 'same' | 'ok'>;

const hasSocat = await socatAvailable();
const pty = hasSocat ? {} : { skip: 'socat is not installed (apt-get install -y socat): pty tests need a real pty pair' };

t.test('over a real pty: block reads, raw bytes decode to the values, energy increases', pty, async (t) => {
  await checkReads(t, await ptyRig(t));
});

t.test('over a real pty: a wrong unit id times out with MeterReadError TIMEOUT after retrying', pty, async (t) => {
  const { reader, sim } = await ptyRig(t, { unitId: 2, timeoutMs: 150, retries: 1, backoffMs: 10 });
  await t.rejects(reader.read(), { name: 'MeterReadError', code: 'TIMEOUT' });
  t.equal(sim.stats().otherUnit, 2, 'the first block was asked twice (one retry), never answered');
});

t.test('over a real pty: a Modbus exception is EXCEPTION with its code, not retried', pty, async (t) => {
  const extra = parseProfile({
    ...profile,
    registers: [...profile.registers, { ...profile.registers[0]!, name: 'apparent_power', quantity: 'apparent_power', obis: '1.0.9.7.0.255', address: 0x2008, unit: 'VA', scaler: 0 }],
  });
  const { reader, sim } = await ptyRig(t, { profile: extra });
  await t.rejects(reader.read(), { code: 'EXCEPTION', exceptionCode: 2 });
  t.equal(sim.stats().exceptions, 1);
});

t.test('over the in-process link: block reads, raw bytes decode to the values, energy increases', async (t) => {
  await checkReads(t, await linkRig(t));
});

t.test('over the in-process link: a wrong unit id times out with MeterReadError TIMEOUT', async (t) => {
  const { reader } = await linkRig(t, { unitId: 9, timeoutMs: 100, retries: 0 });
  const err: unknown = await reader.read().then(() => null, (e: unknown) => e);
  t.ok(err instanceof MeterReadError);
  t.match(err, { code: 'TIMEOUT', message: /unit 9/ });
});

t.test('a corrupted answer is retried; corruption every time ends in CRC', async (t) => {
  let corruptNext = 1;
  const once = await linkRig(t, { backoffMs: 1 }, {
    toClient: (frame) => (corruptNext-- > 0 ? Uint8Array.from(frame, (b, i) => (i === 4 ? b ^ 0xff : b)) : frame),
  });
  t.equal((await once.reader.read()).length, profile.registers.length, 'one bad answer: the retry succeeds');
  t.equal(once.reader.lastReadRetried, true);

  const always = await linkRig(t, { backoffMs: 1, retries: 2 }, {
    toClient: (frame) => Uint8Array.from(frame, (b, i) => (i === frame.length - 1 ? b ^ 0x01 : b)),
  });
  await t.rejects(always.reader.read(), { code: 'CRC', message: /after 3 attempts/ });
  t.equal(always.sim.stats().responses, 3, 'asked three times');
});

t.test('port problems are PORT errors', async (t) => {
  t.throws(() => new ModbusMeterReader({ profile }), { code: 'PORT' });
  const missing = new ModbusMeterReader({ path: '/dev/meterseal-no-such-port', profile });
  await t.rejects(missing.open(), { code: 'PORT' });
  await t.rejects(missing.read(), { code: 'PORT', message: /not open/ });
  t.throws(() => new ModbusMeterReader({ path: '/dev/null', profile, unitId: 0 }), { code: 'PORT' });
});

// Another helper is adding a "serial_number" quantity to hardware profiles; until the schema has it, the test
// builds such a profile by hand (the reader and the simulator look only at the quantity's name).
const withSerial = {
  ...profile,
  registers: [
    ...profile.registers,
    { ...profile.registers[0]!, name: 'serial_number', quantity: 'serial_number' as never, obis: '0.0.96.1.0.255', address: 0x4100, type: 'uint32' as const, sourceScaler: 0, scaler: 0, unit: '1' as const },
  ],
};

t.test('snapshot: identity from the serial-number register, no clock, retries counted', async (t) => {
  let corruptNext = 1;
  const { reader } = await linkRig(t, { profile: withSerial, backoffMs: 1 }, {
    toClient: (frame) => (corruptNext-- > 0 ? Uint8Array.from(frame, (b, i) => (i === 3 ? b ^ 0xff : b)) : frame),
  });
  const snap = await reader.snapshot();
  t.equal(snap.meterIdentity, '10000001', 'the simulator serves 10000000 + unit id');
  t.equal(snap.meterClock, null, 'these models have no clock');
  t.equal(snap.retries, 1, 'one corrupted answer, one retry');
  t.same(snap.samples.map((s) => s.obis), profile.registers.map((r) => r.obis), 'the serial number is not a sample');
  t.equal((await reader.snapshot()).retries, 0, 'counted per scan');
});

t.test('snapshot: a profile without a serial-number register has no identity', async (t) => {
  const { reader } = await linkRig(t);
  const snap = await reader.snapshot();
  t.equal(snap.meterIdentity, null);
  t.equal(snap.samples.length, profile.registers.length);
});

t.test('serialNumberText honours word order and falls back to ASCII or hex', async (t) => {
  t.equal(serialNumberText({ type: 'uint32', wordOrder: 'big' }, Uint8Array.of(0x00, 0x98, 0x96, 0x81)), '10000001');
  t.equal(serialNumberText({ type: 'uint32', wordOrder: 'little' }, Uint8Array.of(0x96, 0x81, 0x00, 0x98)), '10000001');
  t.equal(serialNumberText({ type: 'uint16', wordOrder: 'big' }, Uint8Array.of(0x01, 0x02)), '258');
  t.equal(serialNumberText({ type: 'float32' as const, wordOrder: 'big' }, Uint8Array.from(Buffer.from('AB12'))), 'AB12');
  t.equal(serialNumberText({ type: 'float32' as const, wordOrder: 'big' }, Uint8Array.of(0x01, 0xff, 0, 0)), '01ff0000');
});

t.test('word order per profile: a little-endian-word profile reads the same values as the big-endian one', async (t) => {
  const little = parseProfile({ ...profile, registers: profile.registers.map((r) => ({ ...r, wordOrder: 'little' })) });
  const { reader, sim } = await linkRig(t, { profile: little });
  const samples = byName(await reader.read());
  const v = samples.voltage!;
  t.equal(v.value, f32(sim.model.snapshot().voltageV, -2), 'voltage decodes right');
  const be = Buffer.alloc(4);
  be.writeFloatBE(sim.model.snapshot().voltageV); // the model's voltage, big-endian float32
  t.same([...v.raw], [be[2], be[3], be[0], be[1]], 'raw bytes are low word first, as sent');
});
