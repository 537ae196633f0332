import t from 'tap';
import { pino } from 'pino';
import { parseSimulatorConfig } from './config.js';
import { startSimulator } from './server.js';

t.test('defaults: 9600 baud, unit 1, the DDSU666 profile, seed 1, load ×1, no energy', async (t) => {
  t.same(parseSimulatorConfig({}), {
    baudRate: 9600, unitId: 1, profile: 'chint-ddsu666', seed: 1, loadScale: 1, initialEnergyWh: 0, parity: 'none', pace: false,
    faults: { dropRate: 0, corruptRate: 0, replyDelayMs: 0, rebootEveryRequests: 0, rebootDowntimeMs: 1000, driftPpm: 0 },
  });
});

t.test('invalid settings are CONFIG_INVALID naming the field; unknown keys are refused', async (t) => {
  t.throws(() => parseSimulatorConfig({ unitId: 0 }), { code: 'CONFIG_INVALID', message: /unitId/ });
  t.throws(() => parseSimulatorConfig({ unitId: 248 }), { code: 'CONFIG_INVALID', message: /unitId/ });
  t.throws(() => parseSimulatorConfig({ baudRate: 'fast' }), { code: 'CONFIG_INVALID', message: /baudRate/ });
  t.throws(() => parseSimulatorConfig({ parity: 'mark' }), { code: 'CONFIG_INVALID', message: /parity/ });
  t.throws(() => parseSimulatorConfig({ faults: { dropRate: 1.5 } }), { code: 'CONFIG_INVALID', message: /faults\.dropRate/ });
  t.throws(() => parseSimulatorConfig({ stopBits: 2 }), { code: 'CONFIG_INVALID' });
});

t.test('startSimulator needs a transport and a known profile', async (t) => {
  const log = pino({ level: 'silent' });
  await t.rejects(startSimulator({}, { log }), { code: 'NO_TRANSPORT' });
  await t.rejects(startSimulator({ profile: 'no-such-meter', path: '/dev/null' }, { log }), { code: 'PROFILE', message: /no-such-meter/ });
  await t.rejects(startSimulator({ path: '/dev/meterseal-no-such-port' }, { log }), { code: 'PORT' });
});
