// The meter clock policy (issue 4 item 7) through the scan guard: drift flag, setting only under the explicit
// policy with a synchronised agent clock and within maxStepS, every setting in the JSONL record, and the
// MeterClockSet flag on the next reading (persisted in SQLite across a restart).
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ClockSync, StatusFlag } from '@meterseal/protocol';
import type { MeterClock, MeterSnapshot, MeterSource } from './meter/source.js';
import { CLOCK_LOG_FILE, type ClockPolicyConfig } from './plausibility-clock.js';
import { ScanGuard } from './plausibility-guard.js';

const log = pino({ level: 'silent' });
const T = 1_795_262_400_000n;

/** The meter's side of setClock: records what it was asked; can be told to fail. */
class ClockMeter implements MeterSource {
  sets: bigint[] = [];
  fail = false;
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async read(): Promise<never> {
    throw new Error('not used');
  }
  async setClock(timeMs: bigint): Promise<void> {
    if (this.fail) throw new Error('meter refused: password required');
    this.sets.push(timeMs);
  }
}

function scan(clock: MeterClock | null): MeterSnapshot {
  return { samples: [{ obis: '1.0.1.8.0.255', value: 1000n, scaler: 0, unit: 'Wh', raw: new Uint8Array(4) }], meterIdentity: 'M', meterClock: clock, retries: 0 };
}

function guard(t: { teardown(fn: () => void): void }, clock: Partial<ClockPolicyConfig> = {}, d = mkdtempSync(join(tmpdir(), 'clock-'))): { g: ScanGuard; dir: string } {
  const g = new ScanGuard(d, join(d, 'agent.sqlite'), { clock: { set: 'never', driftToleranceS: 30, maxStepS: 300, ...clock }, limits: { registers: new Map() } }, log);
  t.teardown(() => {
    g.close();
    rmSync(d, { recursive: true, force: true });
  });
  return { g, dir: d };
}

t.test('drift beyond the tolerance flags the reading; within it, or without a meter clock, no flag', async (t) => {
  const { g } = guard(t);
  const j = g.judge(scan({ timeMs: T + 45_000n, deviationMin: -60, status: 0x80 }), T, ClockSync.Synchronised);
  t.equal(j.clock.driftMs, 45_000n);
  t.equal(j.context.flags! & StatusFlag.MeterClockDriftBeyondTolerance, StatusFlag.MeterClockDriftBeyondTolerance);
  t.match(j.context, { meterTimeMs: T + 45_000n, meterClockDeviationMin: -60, meterClockStatus: 0x80, meterIdentity: 'M' });
  t.equal(g.judge(scan({ timeMs: T - 29_000n, deviationMin: null, status: null }), T, ClockSync.Synchronised).context.flags, 0);
  const none = g.judge(scan(null), T, ClockSync.Synchronised);
  t.same([none.clock.driftMs, none.context.flags, none.context.meterTimeMs], [null, 0, null]);
});

t.test('policy "never" (the default) never sets the clock, however far it drifts', async (t) => {
  const { g, dir } = guard(t);
  const meter = new ClockMeter();
  const j = g.judge(scan({ timeMs: T + 120_000n, deviationMin: null, status: null }), T, ClockSync.Synchronised);
  t.same(await g.afterReading(meter, j), { action: 'none', reason: 'policy-never' });
  t.same(meter.sets, []);
  t.notOk(existsSync(join(dir, CLOCK_LOG_FILE)));
});

t.test('"when-drift-exceeds": sets the clock, records it, and the next reading (even after a restart) says so', async (t) => {
  const first = guard(t, { set: 'when-drift-exceeds' });
  const meter = new ClockMeter();
  const before = BigInt(Date.now());
  const j1 = first.g.judge(scan({ timeMs: T + 120_000n, deviationMin: null, status: null }), T, ClockSync.Synchronised);
  first.g.commit(j1);
  const action = await first.g.afterReading(meter, j1);
  t.equal(action.action, 'set');
  t.equal(meter.sets.length, 1);
  t.ok(meter.sets[0]! >= before, 'set to the agent clock at the moment of setting');
  const lines = readFileSync(join(first.dir, CLOCK_LOG_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.match(lines, [{ meterIdentity: 'M', meterTimeMs: String(T + 120_000n), agentTimeMs: String(T), driftMs: '120000', setToMs: String(meter.sets[0]), ok: true }]);
  t.equal(j1.context.flags! & StatusFlag.MeterClockSet, 0, 'the reading taken before the setting does not carry the flag');
  first.g.close();
  const again = new ScanGuard(first.dir, join(first.dir, 'agent.sqlite'), { clock: { set: 'when-drift-exceeds', driftToleranceS: 30, maxStepS: 300 }, limits: { registers: new Map() } }, log);
  t.teardown(() => again.close());
  const j2 = again.judge(scan({ timeMs: T + 1_000n, deviationMin: null, status: null }), T, ClockSync.Synchronised);
  t.equal(j2.context.flags! & StatusFlag.MeterClockSet, StatusFlag.MeterClockSet, 'the next reading carries MeterClockSet, across a restart');
  again.commit(j2);
  t.equal(again.judge(scan(null), T, ClockSync.Synchronised).context.flags! & StatusFlag.MeterClockSet, 0, 'and only that one');
});

t.test('no setting when the agent clock is not known synchronised, the step is too large, or the source cannot', async (t) => {
  const { g, dir } = guard(t, { set: 'when-drift-exceeds', maxStepS: 60 });
  const meter = new ClockMeter();
  const drift = (ms: bigint, sync: 0 | 1 | 2 = ClockSync.Synchronised) => g.judge(scan({ timeMs: T + ms, deviationMin: null, status: null }), T, sync);
  t.same(await g.afterReading(meter, drift(45_000n, ClockSync.Unknown)), { action: 'none', reason: 'agent-clock-not-synchronised' });
  t.same(await g.afterReading(meter, drift(45_000n, ClockSync.Unsynchronised)), { action: 'none', reason: 'agent-clock-not-synchronised' });
  t.same(await g.afterReading(meter, drift(-3_600_000n)), { action: 'refused', reason: 'step-too-large', driftMs: -3_600_000n });
  t.same(await g.afterReading(meter, drift(10_000n)), { action: 'none', reason: 'within-tolerance' });
  const cannot: MeterSource = { open: async () => undefined, close: async () => undefined, read: async () => [] };
  t.same(await g.afterReading(cannot, drift(45_000n)), { action: 'none', reason: 'source-cannot-set' });
  t.same(meter.sets, [], 'the meter clock was never touched');
  t.notOk(existsSync(join(dir, CLOCK_LOG_FILE)), 'nothing to record');
  meter.fail = true;
  const failed = await g.afterReading(meter, drift(-45_000n));
  t.match(failed, { action: 'set', record: { ok: false, error: /password required/ } });
  t.match(JSON.parse(readFileSync(join(dir, CLOCK_LOG_FILE), 'utf8')), { ok: false, driftMs: '-45000' }, 'a failed attempt is recorded too');
  t.equal(g.judge(scan(null), T, ClockSync.Synchronised).context.flags! & StatusFlag.MeterClockSet, StatusFlag.MeterClockSet,
    'an attempt that may have reached the meter still flags the next reading');
});
