// Each shipped three-phase / Eastron profile served by the simulator on the in-process link and read back by the
// meter agent's own reader: the values that come out must be plausible and energy must rise with time.
import t from 'tap';
import { decodeRegister, loadProfile, readBlocks, type MeterProfile } from '@meterseal/hardware';
import { createInProcessLink, startSimulator, type SimulatorHandle } from '@meterseal/simulator';
import pino from 'pino';
import { ModbusMeterReader, type RegisterSample } from './index.js';

const silentLog = () => pino({ level: 'silent' });

const T0 = Date.UTC(2025, 2, 10, 17, 0, 0); // an evening: a busy hour for the household model
const INITIAL_WH = 2_000_000; // 2000 kWh: exact in float32 kWh

interface HasTeardown {
  teardown(fn: () => unknown): void;
}

async function rig(t: HasTeardown, profileId: string): Promise<{ reader: ModbusMeterReader; sim: SimulatorHandle; clock: { now: number }; profile: MeterProfile }> {
  const profile = loadProfile(profileId);
  const link = createInProcessLink();
  t.teardown(() => link.close());
  const clock = { now: T0 };
  const sim = await startSimulator({ profile: profileId, seed: 11, initialEnergyWh: INITIAL_WH }, { log: silentLog(), stream: link.serverStream, clock: () => clock.now });
  t.teardown(() => sim.close());
  const reader = new ModbusMeterReader({ port: link.clientPort, profile, retries: 0, timeoutMs: 2000 });
  t.teardown(() => reader.close());
  await reader.open();
  return { reader, sim, clock, profile };
}

/** value × 10^scaler as a JS number, for range checks only. */
const physical = (s: RegisterSample): number => Number(s.value) * 10 ** s.scaler;
const obisC = (obis: string): number => Number(obis.split('.')[2]);

for (const id of ['chint-dtsu666', 'eastron-sdm120', 'eastron-sdm630']) {
  t.test(`${id}: served on the in-process link, read by ModbusMeterReader: plausible values, energy rising`, async (t) => {
    const { reader, sim, clock, profile } = await rig(t, id);
    const first = await reader.read();
    t.same(first.map((s) => s.name), profile.registers.map((r) => r.name), 'every register, in profile order');
    t.equal(sim.stats().responses, readBlocks(profile).length, 'one request per block');
    t.match(sim.stats(), { exceptions: 0, crcErrors: 0, malformed: 0 });
    for (const s of first) {
      const def = profile.registers.find((r) => r.name === s.name)!;
      t.same(decodeRegister(def, s.raw), { value: s.value, scaler: s.scaler, unit: s.unit }, `${s.name}: raw bytes decode to the value`);
    }

    const byQuantity = (q: string): RegisterSample[] => first.filter((s) => profile.registers.find((r) => r.name === s.name)!.quantity === q);
    const volts = byQuantity('voltage');
    t.equal(volts.length, id === 'eastron-sdm120' ? 1 : 3);
    for (const v of volts) t.ok(physical(v) >= 200 && physical(v) <= 260, `${v.name} ${physical(v)} V within 200-260 V`);
    for (const a of byQuantity('current')) t.ok(physical(a) > 0 && physical(a) < 100, `${a.name} ${physical(a)} A`);
    for (const f of byQuantity('frequency')) t.ok(physical(f) > 49.9 && physical(f) < 50.1, `${f.name} ${physical(f)} Hz`);
    for (const p of byQuantity('active_power')) t.ok(physical(p) > 0 && physical(p) < 25_000, `${p.name} ${physical(p)} W (this household imports)`);
    const energy = (samples: RegisterSample[], c: number): bigint => {
      const s = samples.find((x) => x.unit === 'Wh' && obisC(x.obis) === c);
      if (!s) throw new Error(`no energy register with OBIS C=${c}`);
      t.equal(s.scaler, 0, `${s.name}: integer Wh`);
      return s.value;
    };
    t.equal(energy(first, 1), BigInt(INITIAL_WH), 'import starts at the initial register, in Wh');
    t.equal(energy(first, 2), 0n, 'export: the household never exports');
    if (id === 'eastron-sdm120') t.equal(energy(first, 15), energy(first, 1) + energy(first, 2), 'total = import + export');

    clock.now += 2 * 3_600_000;
    const second = await reader.read();
    const grown = energy(second, 1) - energy(first, 1);
    t.ok(grown > 100n && grown < 6_000n, `import rose by ${grown} Wh in two hours`);
    const modelWh = BigInt(Math.round(Math.fround(Number(sim.model.energyImportMilliWh()) / 1e6) * 1000)); // float32 kWh → Wh
    t.equal(energy(second, 1), modelWh, 'by what the model integrated (to float32 kWh resolution)');
    if (id === 'eastron-sdm120') t.equal(energy(second, 15), energy(second, 1), 'total follows import');
    t.equal(reader.lastReadRetried, false);
  });
}

t.test('chint-dtsu666: the CT/PT ratio registers travel with the reading', async (t) => {
  const { reader } = await rig(t, 'chint-dtsu666');
  const samples = await reader.read();
  const ratios = samples.filter((s) => s.obis === '1.0.0.4.2.255' || s.obis === '1.0.0.4.3.255');
  t.same(ratios.map((s) => [s.name, s.raw.length, s.unit, s.scaler]), [['ct_ratio', 2, '1', 0], ['vt_ratio', 2, '1', -1]], 'int16 IrAt, UrAt×0.1');
});
