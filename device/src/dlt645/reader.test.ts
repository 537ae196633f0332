import t from 'tap';
import { pino } from 'pino';
import { loadDlt645Profile } from '@meterseal/hardware';
import { createInProcessLink, createPtyPair, socatAvailable, startDlt645Simulator, type InProcessLinkOptions } from '@meterseal/simulator';
import { Dlt645MeterReader, type Dlt645MeterReaderOptions, type Dlt645Sample } from './reader.js';
import { Dlt645Error } from './errors.js';
import { encodeFrame, parseFrame } from './frame.js';
import { findIdentifier, type Dlt645Identifier } from './identifiers.js';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 2, 10, 7, 0, 0);
const ADDRESS = '000012345678';
const profile = loadDlt645Profile('dlt645-single-phase');
interface HasTeardown {
  teardown(fn: () => unknown): void;
}
type Sim = Awaited<ReturnType<typeof startDlt645Simulator>>;
type Rig = { reader: Dlt645MeterReader; sim: Sim; clock: { now: number } };
type Opts = Partial<Dlt645MeterReaderOptions>;

async function ptyRig(t: HasTeardown, opts: Opts = {}): Promise<Rig> {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const clock = { now: T0 };
  const sim = await startDlt645Simulator({ path: pair.a, address: ADDRESS, seed: 4, initialEnergyWh: 1500 }, { log, clock: () => clock.now });
  t.teardown(() => sim.close());
  const reader = new Dlt645MeterReader({ path: pair.b, address: ADDRESS, profile, timeoutMs: 1000, ...opts });
  t.teardown(() => reader.close());
  await reader.open();
  return { reader, sim, clock };
}

async function linkRig(t: HasTeardown, opts: Opts = {}, link: InProcessLinkOptions = {}): Promise<Rig> {
  const { clientPort, serverStream, close } = createInProcessLink(link);
  t.teardown(close);
  const clock = { now: T0 };
  const sim = await startDlt645Simulator({ address: ADDRESS, seed: 4, initialEnergyWh: 1500 }, { log, stream: serverStream, clock: () => clock.now });
  t.teardown(() => sim.close());
  const reader = new Dlt645MeterReader({ stream: clientPort, address: ADDRESS, profile, timeoutMs: 500, ...opts });
  t.teardown(() => reader.close());
  await reader.open();
  return { reader, sim, clock };
}

const byName = (s: Dlt645Sample[]): Record<string, Dlt645Sample> => Object.fromEntries(s.map((x) => [x.name, x]));
type Tap = Pick<typeof t, 'equal' | 'same' | 'ok'>;

async function checkReads(t: Tap, { reader, sim, clock }: Rig): Promise<void> {
  const first = await reader.read();
  t.same(first.map((s) => s.di), profile.identifiers.map((d) => d.di), 'every identifier, in profile order');
  t.equal(sim.stats().responses, profile.identifiers.length, 'one request per identifier');
  const a = byName(first);
  const snap = sim.model.snapshot();
  t.same(a.active_energy_import, { name: 'active_energy_import', di: '00010000', obis: '1.0.1.8.0.255', value: 1500n, scaler: 0, unit: 'Wh', raw: Uint8Array.of(0x50, 0x01, 0, 0) }, '1.50 kWh = 1500 Wh, raw BCD kept');
  t.equal(a.voltage!.unit, 'V');
  t.equal(a.voltage!.scaler, -1);
  t.equal(a.voltage!.value, BigInt(Math.round(snap.voltageV * 10)), `voltage ${a.voltage!.value} × 0.1 V`);
  t.ok(a.voltage!.value > 2250n && a.voltage!.value < 2350n, 'about 230 V');
  t.equal(a.active_power!.value, BigInt(Math.round(snap.activePowerW * 10)), 'power in 0.1 W');
  t.equal(a.frequency!.unit, 'Hz');

  clock.now += 2 * 3_600_000; // two hours of household load
  const second = byName(await reader.read());
  const expected = (sim.model.energyImportMilliWh() / 10_000n) * 10n; // whole 0.01 kWh, in Wh
  t.ok(second.active_energy_import!.value > a.active_energy_import!.value, `energy grew to ${second.active_energy_import!.value} Wh`);
  t.equal(second.active_energy_import!.value, expected, 'by what the model integrated, in whole 0.01 kWh');
  t.equal(second.active_energy_combined!.value, expected, 'combined = forward + reverse (no export)');
  t.equal(reader.lastReadRetried, false);
}

// A phase-B voltage: a single-phase meter does not have it.
const PHASE_B: Dlt645Identifier = { ...findIdentifier('02010100')!, di: '02010200', name: 'voltage_b', obis: '1.0.52.7.0.255' };

const hasSocat = await socatAvailable();
const pty = hasSocat ? {} : { skip: 'socat is not installed (apt-get install -y socat): pty tests need a real pty pair' };

t.test('over a real pty: every DI read, values exact, energy increases', pty, async (t) => {
  await checkReads(t, await ptyRig(t));
});

t.test('over a real pty: read address finds the meter', pty, async (t) => {
  const { reader } = await ptyRig(t);
  t.equal(await reader.readAddress(), ADDRESS);
});

t.test('over a real pty: an identifier the meter lacks is METER_ERROR 02H, not retried', pty, async (t) => {
  const { reader, sim } = await ptyRig(t, { identifiers: ['00010000', PHASE_B] });
  const err: unknown = await reader.read().then(() => null, (e: unknown) => e);
  t.ok(err instanceof Dlt645Error);
  t.match(err, { code: 'METER_ERROR', errorWord: 0x02, errorFlags: ['no data requested'], message: /DI 02010200/ });
  t.match(sim.stats(), { responses: 1, errors: 1 });
});

t.test('over a real pty: a wrong address times out after one retry', pty, async (t) => {
  const { reader, sim } = await ptyRig(t, { address: '000012345679', timeoutMs: 150, backoffMs: 10 });
  await t.rejects(reader.read(), { name: 'Dlt645Error', code: 'TIMEOUT', message: /000012345679.*after 2 attempts/ });
  t.equal(sim.stats().otherAddress, 2, 'asked twice, never answered');
  t.equal(reader.lastReadRetried, true);
});

t.test('over the in-process link: every DI read, values exact, energy increases', async (t) => {
  await checkReads(t, await linkRig(t));
});

t.test('over the in-process link: unknown DI is METER_ERROR, wrong address is TIMEOUT', async (t) => {
  const unknown = await linkRig(t, { identifiers: [PHASE_B] });
  await t.rejects(unknown.reader.read(), { code: 'METER_ERROR', errorWord: 2 });
  const wrong = await linkRig(t, { address: '999999999998', timeoutMs: 100, retries: 0 });
  await t.rejects(wrong.reader.read(), { code: 'TIMEOUT', message: /999999999998/ });
});

t.test('a garbled answer is retried; garbled every time ends in CHECKSUM', async (t) => {
  let corruptNext = 1;
  const flip = (frame: Uint8Array): Uint8Array => Uint8Array.from(frame, (b, i) => (i === 16 ? b ^ 0x01 : b));
  const once = await linkRig(t, { backoffMs: 1 }, { toClient: (f) => (corruptNext-- > 0 ? flip(f) : f) });
  t.equal((await once.reader.read()).length, profile.identifiers.length, 'one bad answer: the retry succeeds');
  t.equal(once.reader.lastReadRetried, true);
  const always = await linkRig(t, { backoffMs: 1, timeoutMs: 100 }, { toClient: flip });
  await t.rejects(always.reader.read(), { code: 'CHECKSUM', message: /after 2 attempts/ });
});

t.test('an answer from another address is ADDRESS_MISMATCH', async (t) => {
  const other = (bytes: Uint8Array): Uint8Array => encodeFrame({ ...parseFrame(bytes), address: '000000000042' });
  const { reader } = await linkRig(t, { backoffMs: 1 }, { toClient: other });
  await t.rejects(reader.read(), { code: 'ADDRESS_MISMATCH', message: /000000000042 answered.*after 2 attempts/ });
});

t.test('answers to an earlier request and echoes of our own request are ignored', async (t) => {
  let n = 0;
  // Deliver every answer twice: the duplicate reaches the next request and must not be taken for its answer.
  const link = createInProcessLink({ toClient: (f) => f });
  t.teardown(link.close);
  const sim = await startDlt645Simulator({ address: ADDRESS, seed: 4 }, { log, stream: link.serverStream, clock: () => T0 });
  t.teardown(() => sim.close());
  const write = link.clientPort.write.bind(link.clientPort);
  link.clientPort.write = (data: Buffer | Uint8Array): boolean => {
    link.clientPort.deliver(Buffer.from(data)); // the RS-485 adapter echoes what we send
    if (n++ > 0) link.clientPort.deliver(Buffer.from(encodeFrame({ address: ADDRESS, control: 0x91, data: Uint8Array.of(0, 0, 1, 0, 0x99, 0x99, 0x99, 0x99) })));
    return write(data);
  };
  const reader = new Dlt645MeterReader({ stream: link.clientPort, address: ADDRESS, identifiers: ['00010000', '02010100'], timeoutMs: 500 });
  t.teardown(() => reader.close());
  await reader.open();
  const [energy, voltage] = await reader.read();
  t.equal(energy!.value, 0n);
  t.equal(voltage!.di, '02010100', 'the stale 00010000 answer was skipped');
  t.equal(reader.lastReadRetried, false);
});

t.test('port problems are PORT errors; a bad address is refused up front', async (t) => {
  t.throws(() => new Dlt645MeterReader({ address: ADDRESS }), { code: 'PORT' });
  t.throws(() => new Dlt645MeterReader({ path: '/dev/null', address: '12345' }), { code: 'BCD' });
  t.throws(() => new Dlt645MeterReader({ path: '/dev/null', address: ADDRESS, identifiers: ['04000401'] }), { code: 'PROTOCOL', message: /built-in table/ });
  const missing = new Dlt645MeterReader({ path: '/dev/meterseal-no-such-port', address: ADDRESS });
  await t.rejects(missing.open(), { code: 'PORT' });
  await t.rejects(missing.read(), { code: 'PORT', message: /not open/ });
});
