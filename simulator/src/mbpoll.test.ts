// Interop: mbpoll (Debian's independent Modbus master, C/libmodbus) reads every register of every Modbus profile
// from the simulator over a real socat pty, and its numbers match the model. Nothing of ours decodes the bytes.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { listProfiles, loadProfile, registerWords, type MeterProfile, type RegisterDef } from '@meterseal/hardware';
import { createPtyPair, socatAvailable } from './pty.js';
import { physicalValue } from './register-bank.js';
import { startSimulator } from './server.js';
import { silentLog } from './test-helpers.js';

const FIXED = Date.UTC(2025, 5, 1, 18, 30, 0);
const MBPOLL = '/usr/bin/mbpoll';
const hasSocat = await socatAvailable();
const skip = !hasSocat ? { skip: 'socat is not installed' } : !existsSync(MBPOLL) ? { skip: `${MBPOLL} is not installed (apt-get install mbpoll)` } : {};

const modbusProfiles: MeterProfile[] = [];
for (const id of listProfiles()) {
  try {
    modbusProfiles.push(loadProfile(id));
  } catch {
    // a DL/T 645 profile: not a Modbus register map
  }
}

/** mbpoll's data type for a register: -t 4 / 3 (16-bit), 4:int / 3:int (32-bit), 4:float / 3:float. */
function mbpollType(def: RegisterDef): string {
  const table = def.functionCode === 3 ? '4' : '3';
  if (def.type === 'float32') return `${table}:float`;
  if (def.type === 'int32' || def.type === 'uint32') return `${table}:int`;
  return table;
}

/** Runs of registers mbpoll can read in one call: same function code and type, contiguous, same word order. */
function runs(profile: MeterProfile): RegisterDef[][] {
  const sorted = [...profile.registers].sort((a, b) => a.functionCode - b.functionCode || a.address - b.address);
  const out: RegisterDef[][] = [];
  for (const def of sorted) {
    const last = out.at(-1);
    const prev = last?.at(-1);
    if (prev && mbpollType(prev) === mbpollType(def) && prev.wordOrder === def.wordOrder && prev.address + registerWords(prev) === def.address) last!.push(def);
    else out.push([def]);
  }
  return out;
}

function mbpoll(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(MBPOLL, args, { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`mbpoll ${args.join(' ')}: ${err.message}\n${stderr}\n${stdout}`)) : resolve(stdout)));
  });
}

t.test('there are Modbus profiles to check', async (t) => {
  t.ok(modbusProfiles.length >= 4, modbusProfiles.map((p) => p.id).join(', '));
});

for (const profile of modbusProfiles) {
  t.test(`mbpoll reads every register of ${profile.id} over a pty and gets the model's values`, skip, async (t) => {
    const pair = await createPtyPair();
    t.teardown(() => pair.close());
    const unitId = profile.defaultUnitId;
    const sim = await startSimulator({ path: pair.a, profile: profile.id, unitId, seed: 11, initialEnergyWh: 54_321 }, { log: silentLog(), clock: () => FIXED });
    t.teardown(() => sim.close());
    const snap = sim.model.snapshot();
    for (const run of runs(profile)) {
      const first = run[0]!;
      // -0 PDU addresses, -B big-endian words (omitted: little), 8N1 on the pty, one poll, 2 s timeout.
      const args = ['-m', 'rtu', '-a', String(unitId), '-b', '9600', '-d', '8', '-P', 'none', '-s', '1', '-t', mbpollType(first),
        ...(first.wordOrder === 'big' ? ['-B'] : []), '-0', '-r', String(first.address), '-c', String(run.length), '-o', '2', '-1', pair.b];
      const out = await mbpoll(args);
      const got = new Map([...out.matchAll(/^\[(\d+)\]:\s+(-?[\d.eE+-]+)/gm)].map((m) => [Number(m[1]), Number(m[2])]));
      for (const def of run) {
        const expected = physicalValue(def, snap) / 10 ** def.sourceScaler; // in the meter's own unit
        const want = def.type === 'float32' ? Math.fround(expected) : Math.round(expected);
        const value = got.get(def.address);
        const tolerance = Math.max(1e-6, Math.abs(want) * 1e-5); // mbpoll prints floats with 6 significant digits
        t.ok(value !== undefined && Math.abs(value - want) <= tolerance, `${def.name} @${def.address}: mbpoll ${value}, model ${want}`);
      }
    }
    t.equal(sim.stats().exceptions, 0, 'no exception: every register is mapped');
  });
}
