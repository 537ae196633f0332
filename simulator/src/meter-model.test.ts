import t from 'tap';
import { MeterModel } from './meter-model.js';

const T0 = Date.UTC(2025, 0, 15, 0, 0, 0);
const clockAt = (start: number): { now: () => number; set: (ms: number) => void } => {
  let now = start;
  return { now: () => now, set: (ms) => { now = ms; } };
};

t.test('same seed and instant give the same values; another seed differs', async (t) => {
  const a = new MeterModel({ seed: 7, clock: () => T0 + 12_345_678 });
  const b = new MeterModel({ seed: 7, clock: () => T0 + 12_345_678 });
  const c = new MeterModel({ seed: 8, clock: () => T0 + 12_345_678 });
  t.same(a.snapshot(), b.snapshot());
  t.not(a.snapshot().activePowerW, c.snapshot().activePowerW);
});

t.test('energy is exactly Σ P × Δt over the minute slots (mW·ms → mWh)', async (t) => {
  const clock = clockAt(T0);
  const m = new MeterModel({ seed: 3, clock: clock.now });
  const end = T0 + 10 * 60_000 + 30_000;
  let expectedMwMs = 0n;
  for (let s = T0; s < end; s += 60_000) {
    expectedMwMs += BigInt(m.powerMilliWatts(s)) * BigInt(Math.min(60_000, end - s));
  }
  clock.set(end);
  t.equal(m.energyImportMilliWh(), expectedMwMs / 3_600_000n);
  t.ok(m.energyImportMilliWh() > 0n);
});

t.test('energy does not depend on how often the meter is read', async (t) => {
  const once = clockAt(T0);
  const often = clockAt(T0);
  const a = new MeterModel({ seed: 5, clock: once.now });
  const b = new MeterModel({ seed: 5, clock: often.now });
  for (let ms = T0; ms <= T0 + 3 * 3_600_000; ms += 7_777) {
    often.set(ms);
    b.snapshot();
  }
  often.set(T0 + 3 * 3_600_000);
  once.set(T0 + 3 * 3_600_000);
  t.equal(a.energyImportMilliWh(), b.energyImportMilliWh());
});

t.test('energy never decreases, even when the clock steps back', async (t) => {
  const clock = clockAt(T0 + 3_600_000);
  const m = new MeterModel({ seed: 1, clock: clock.now, initialEnergyWh: 1000 });
  t.equal(m.energyImportMilliWh(), 1_000_000n, 'starts at initialEnergyWh');
  clock.set(T0 + 7_200_000);
  const e1 = m.energyImportMilliWh();
  t.ok(e1 > 1_000_000n);
  clock.set(T0);
  t.equal(m.energyImportMilliWh(), e1, 'a backwards step adds nothing');
  clock.set(T0 + 7_200_000);
  t.equal(m.energyImportMilliWh(), e1, 'and the replayed interval is not counted twice');
});

t.test('loadScale scales power; zero load accumulates nothing', async (t) => {
  const at = T0 + 19 * 3_600_000;
  const one = new MeterModel({ seed: 2, clock: () => at });
  const two = new MeterModel({ seed: 2, loadScale: 2, clock: () => at });
  t.ok(Math.abs(two.powerMilliWatts(at) - one.powerMilliWatts(at) * 2) <= 1, 'double load, double power (±1 mW rounding)');
  const clock = clockAt(T0);
  const none = new MeterModel({ seed: 2, loadScale: 0, clock: clock.now });
  clock.set(T0 + 86_400_000);
  t.equal(none.energyImportMilliWh(), 0n);
});

t.test('a simulated day looks like a household on a 230 V / 50 Hz grid', async (t) => {
  const clock = clockAt(T0);
  const m = new MeterModel({ seed: 11, clock: clock.now });
  const byHour = new Array<number>(24).fill(0);
  for (let s = 0; s < 86_400; s += 30) {
    clock.set(T0 + s * 1000);
    const x = m.snapshot();
    if (x.voltageV < 224 || x.voltageV > 236) t.fail(`voltage ${x.voltageV}`);
    if (Math.abs(x.frequencyHz - 50) > 0.05) t.fail(`frequency ${x.frequencyHz}`);
    if (x.powerFactor < 0.9 || x.powerFactor > 0.99) t.fail(`pf ${x.powerFactor}`);
    if (x.activePowerW < 50 || x.activePowerW > 3500) t.fail(`power ${x.activePowerW}`);
    // I = S / U and P = S × PF
    if (Math.abs(x.currentA * x.voltageV - x.apparentPowerVA) > 1e-6) t.fail('I ≠ S/U');
    if (Math.abs(x.apparentPowerVA * x.powerFactor - x.activePowerW) > 1e-6) t.fail('P ≠ S·PF');
    byHour[Math.floor(s / 3600)]! += x.activePowerW;
  }
  clock.set(T0 + 86_400_000);
  const kWh = Number(m.energyImportMilliWh()) / 1e6;
  t.ok(kWh > 5 && kWh < 20, `daily energy ${kWh.toFixed(2)} kWh`);
  t.ok(byHour[19]! > 2 * byHour[3]!, 'evening peak well above the night trough');
});
