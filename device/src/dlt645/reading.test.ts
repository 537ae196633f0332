// The agent's reading path with a DL/T 645 meter: reader samples → buildReading → encodeReading (docs/protocol.md §3).
import t from 'tap';
import { pino } from 'pino';
import { decodeReading, encodeReading, StatusFlag } from '@meterseal/protocol';
import { createInProcessLink, startDlt645Simulator } from '@meterseal/simulator';
import { loadDlt645Profile } from '@meterseal/hardware';
import type { MeterSource } from '../meter/source.js';
import { buildReading } from '../reading-builder.js';
import { Dlt645MeterReader } from './reader.js';

const log = pino({ level: 'silent' });

t.test('DL/T 645 samples become a canonical, signed-ready reading', async (t) => {
  const link = createInProcessLink();
  t.teardown(link.close);
  const sim = await startDlt645Simulator({ address: '000012345678', initialEnergyWh: 12_345_670 }, { log, stream: link.serverStream, clock: () => Date.UTC(2025, 2, 10, 19, 0) });
  t.teardown(() => sim.close());
  const reader = new Dlt645MeterReader({ stream: link.clientPort, address: '000012345678', profile: loadDlt645Profile('dlt645-single-phase') });
  t.teardown(() => reader.close());
  const source: MeterSource = reader; // the agent's interface
  await source.open();
  const samples = await source.read();

  const reading = buildReading('DLT645-000012345678', 7n, samples, { retried: source.lastReadRetried === true, meterTimeMs: null });
  const bytes = encodeReading(reading);
  const back = decodeReading(bytes);
  t.equal(back.registers.length, samples.length, 'every identifier is one register');
  const obis = back.registers.map((r) => r.obis);
  t.same(obis, [...obis].sort((a, b) => a.split('.').map(Number).reduce((d, x, i) => d || x - Number(b.split('.')[i]), 0)), 'in increasing OBIS order');
  const energy = back.registers.find((r) => r.obis === '1.0.1.8.0.255')!;
  t.match(energy, { value: 12_345_670n, scaler: 0, unit: 'Wh' }, '12345.67 kWh as an exact integer count of Wh');
  t.same([...energy.raw], [0x67, 0x45, 0x23, 0x01], 'raw: the BCD value bytes as the meter sent them');
  t.equal(back.registers.find((r) => r.obis === '1.0.15.8.0.255')!.value, 12_345_670n, 'combined energy');
  t.equal(back.status & StatusFlag.ReadRetried, 0);
  t.equal(back.status & StatusFlag.MeterTimeUnavailable, StatusFlag.MeterTimeUnavailable);
});
