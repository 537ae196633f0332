// Every shipped Modbus profile read over a real serial line: the simulator on one end of a socat pty pair,
// ModbusMeterReader on the other (8N1: ptys refuse parity). The in-process tests beside this one check the
// values; this one checks that each profile's whole request sequence survives a real tty.
import t from 'tap';
import pino from 'pino';
import { listProfiles, loadProfile, readBlocks } from '@meterseal/hardware';
import { createPtyPair, socatAvailable, startSimulator } from '@meterseal/simulator';
import { ModbusMeterReader } from './modbus-reader.js';

const hasSocat = await socatAvailable();
const pty = hasSocat ? {} : { skip: 'socat is not installed: pty tests need a real pty pair' };
const log = pino({ level: 'silent' });

// every shipped profile except the DLMS and DL/T 645 ones (they have their own pty tests)
const modbusIds = listProfiles().filter((id) => !id.startsWith('dlms-') && !id.startsWith('dlt645-'));
t.same(modbusIds, ['chint-ddsu666', 'chint-dtsu666', 'eastron-sdm120', 'eastron-sdm630'], 'the four Modbus profiles shipped');

for (const id of modbusIds) {
  t.test(`${id}: every register read over a real pty`, pty, async (t) => {
    const profile = loadProfile(id);
    const pair = await createPtyPair();
    t.teardown(() => pair.close());
    const sim = await startSimulator({ path: pair.a, profile: id, seed: 3, initialEnergyWh: 4321 }, { log });
    t.teardown(() => sim.close());
    const reader = new ModbusMeterReader({ path: pair.b, baudRate: 9600, profile, timeoutMs: 2000 });
    t.teardown(() => reader.close());
    await reader.open();
    const samples = await reader.read();
    t.same(samples.map((s) => s.name), profile.registers.map((r) => r.name), 'every register, in profile order');
    t.equal(sim.stats().responses, readBlocks(profile).length, 'one answer per block');
    t.match(sim.stats(), { exceptions: 0, crcErrors: 0 });
    const energy = samples.find((s) => s.obis === '1.0.1.8.0.255');
    t.equal(energy?.value, 4321n, 'the import register carries the simulator\'s initial energy, in Wh');
  });
}
