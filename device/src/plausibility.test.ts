// Register plausibility (issue 4 item 8) on a real SQLite file: backwards, wrap past rollover, jumps beyond
// the physical maximum, and last values that survive a restart.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatusFlag } from '@meterseal/protocol';
import { loadDlt645Profile } from '@meterseal/hardware';
import { RegisterPlausibility } from './plausibility.js';
import pino from 'pino';
import { AgentConfig } from './config.js';
import { limitsFromProfile, profileLimits } from './plausibility-guard.js';
import type { Sample } from './reading-builder.js';

const HOUR = 3_600_000n;
const T0 = 1_795_262_400_000n;
const IMPORT = '1.0.1.8.0.255';

function energy(value: bigint, obis = IMPORT): Sample {
  return { obis, value, scaler: 0, unit: 'Wh', raw: new Uint8Array(4) };
}
const volts = (v: bigint): Sample => ({ obis: '1.0.32.7.0.255', value: v, scaler: -1, unit: 'V', raw: new Uint8Array(2) });

function open(t: { teardown(fn: () => void): void }, limits = limitsFromProfile(loadDlt645Profile('dlt645-single-phase'))): { path: string; make: () => RegisterPlausibility } {
  const dir = mkdtempSync(join(tmpdir(), 'plausibility-'));
  const opened: RegisterPlausibility[] = [];
  t.teardown(() => {
    for (const p of opened) p.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'agent.sqlite');
  return { path, make: () => { const p = new RegisterPlausibility(path, limits); opened.push(p); return p; } };
}

t.test('the DL/T 645 profile gives every energy register its rollover and the meter its maximum power', async (t) => {
  const limits = limitsFromProfile(loadDlt645Profile('dlt645-single-phase'));
  t.equal(limits.maxPowerW, 26_400);
  t.same(limits.registers.get(IMPORT), { rollover: 1_000_000_000 });
  t.same(limits.registers.get('1.0.1.8.3.255'), { rollover: 1_000_000_000 }, 'time-of-use tariff 3');
  t.equal(limits.registers.get('1.0.32.7.0.255'), undefined, 'voltage has no limit');
  t.equal(limitsFromProfile(null, { maxPowerW: 5000 }).maxPowerW, 5000, 'config overrides');
  const dlms = profileLimits({ serial: AgentConfig.parse({ dataDir: '/x', meterId: 'M', customerAccount: 'A', serial: { protocol: 'dlms' } }).serial, plausibility: { maxPowerW: 9000 } }, pino({ level: 'silent' }));
  t.same(dlms.registers.get('1.0.1.8.2.255'), { rollover: 4_294_967_296 }, 'DLMS: double-long-unsigned Wh wraps after 4294967295');
  t.equal(dlms.maxPowerW, 9000);
});

t.test('first reading: nothing to compare, no flag; normal consumption: no flag', async (t) => {
  const p = open(t).make();
  t.same(p.judge([energy(1000n)], T0), { flags: 0, findings: [] });
  p.commit([energy(1000n), volts(2300n)], T0);
  t.same(p.judge([energy(1000n + 2000n)], T0 + HOUR).flags, 0, '2 kWh in an hour is well under 26.4 kW');
  t.same(p.judge([energy(1000n)], T0 + HOUR).flags, 0, 'unchanged is fine');
});

t.test('an energy register below its previous value is flagged RegisterWentBackwards; voltage falling is not', async (t) => {
  const p = open(t).make();
  p.commit([energy(500_000n), volts(2300n)], T0);
  const r = p.judge([energy(499_990n), volts(2100n)], T0 + HOUR);
  t.equal(r.flags, StatusFlag.RegisterWentBackwards);
  t.match(r.findings, [{ obis: IMPORT, flag: 'went-backwards', previous: 500_000n, current: 499_990n }]);
  t.equal(p.judge([energy(499_990n, '1.0.16.8.0.255')], T0 + HOUR).flags, 0, 'net energy (C = 16) may fall');
});

t.test('a wrap past the rollover value is not backwards; a fall that is not a plausible wrap is', async (t) => {
  const p = open(t).make();
  p.commit([energy(999_999_000n)], T0); // 999 999.00 kWh: 1 kWh below the rollover
  const wrap = p.judge([energy(500n)], T0 + HOUR); // +1.5 kWh through 0
  t.equal(wrap.flags, 0, 'wrapped, and 1.5 kWh in an hour is plausible');
  t.match(wrap.findings, [{ flag: 'wrapped', increase: 1500 }]);
  t.equal(p.judge([energy(900_000_000n)], T0 + HOUR).flags, StatusFlag.RegisterWentBackwards, 'a drop of 100 MWh is no wrap');
  const q = open(t, { registers: new Map([[IMPORT, { rollover: 1_000_000_000 }]]) }).make();
  q.commit([energy(999_000_000n)], T0);
  t.equal(q.judge([energy(10_000n)], T0 + HOUR).flags, 0, 'no maximum known: top tenth to bottom tenth is a wrap');
  t.equal(q.judge([energy(500_000_000n)], T0 + HOUR).flags, StatusFlag.RegisterWentBackwards, 'a fall into the middle is not');
  const none = open(t, { registers: new Map() }).make();
  none.commit([energy(999_999_000n)], T0);
  t.equal(none.judge([energy(500n)], T0 + HOUR).flags, StatusFlag.RegisterWentBackwards, 'no rollover known: any fall is backwards');
});

t.test('a rise beyond maximum power x elapsed time is flagged JumpBeyondPhysicalMaximum, also through a wrap', async (t) => {
  const p = open(t).make();
  p.commit([energy(1_000_000n)], T0);
  const quarter = T0 + HOUR / 4n; // 26.4 kW for 15 min = 6.6 kWh
  t.equal(p.judge([energy(1_000_000n + 6_600n)], quarter).flags, 0, 'exactly the maximum is plausible');
  const jump = p.judge([energy(1_000_000n + 20_000n)], quarter);
  t.equal(jump.flags, StatusFlag.JumpBeyondPhysicalMaximum);
  t.match(jump.findings, [{ flag: 'jump', increase: 20_000, allowed: 6600 }]);
  const wrapJump = open(t).make();
  wrapJump.commit([energy(999_999_000n)], T0);
  t.equal(wrapJump.judge([energy(50_000n)], quarter).flags, StatusFlag.RegisterWentBackwards, 'a "wrap" of 51 kWh in 15 min is not a wrap at all');
  const perRegister = open(t, { maxPowerW: 26_400, registers: new Map([['1.0.2.8.0.255', { maxRatePerHour: 100 }]]) }).make();
  perRegister.commit([energy(0n, '1.0.2.8.0.255')], T0);
  t.equal(perRegister.judge([energy(1_000n, '1.0.2.8.0.255')], T0 + HOUR).flags, StatusFlag.JumpBeyondPhysicalMaximum, 'a per-register max rate overrides');
  t.equal(perRegister.judge([energy(1_000n, '1.0.2.8.0.255')], T0 - HOUR).flags, 0, 'the agent clock went back: no jump judged');
});

t.test('last values persist across a restart (same SQLite file), and judging alone stores nothing', async (t) => {
  const db = open(t);
  const first = db.make();
  first.judge([energy(7_000n)], T0);
  first.commit([energy(5_000n)], T0);
  first.close();
  const second = db.make();
  t.equal(second.judge([energy(4_000n)], T0 + HOUR).flags, StatusFlag.RegisterWentBackwards, 'compared with the committed 5 kWh');
  t.equal(second.judge([energy(6_000n)], T0 + HOUR).flags, 0, 'not with the judged-only 7 kWh');
  second.setState('k', 'v');
  second.close();
  t.equal(db.make().getState('k'), 'v');
});
