// The gateway on a real serial line: three simulated Modbus meters on one multi-drop bus (a socat pty pair,
// unit ids 1..3) plus a configured unit 9 that is not on the bus. Each poll reads the meters in turn over
// the one port; unit 9's silence becomes a signed gap; the readings carry the meters' own register values.
import t from 'tap';
import { join } from 'node:path';
import pino from 'pino';
import { createPtyPair, socatAvailable, startFleet } from '@meterseal/simulator';
import { startGateway } from './gateway.js';
import { ledgerAnchors, startBackends, waitUntil } from './testing.js';

const log = pino({ level: 'silent' });

const skip = (await socatAvailable()) ? false : 'socat not installed';

t.test('three meters on one pty bus and one missing unit: readings for the three, gaps for the fourth', { skip }, async (t) => {
  const meters = [1, 2, 3, 9].map((u) => ({ meterId: `BUS-${u}`, customerAccount: `ACC-B${u}`, unitId: u }));
  const b = await startBackends(meters);
  t.teardown(() => b.close());
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const fleet = await startFleet({ protocol: 'modbus', meters: 3, path: pair.a, initialEnergyWh: 5000 }, { log });
  t.teardown(() => fleet.close());
  const gw = await startGateway({
    dataDir: join(b.dir, 'gateway'), gatewayId: 'GW-BUS', meters, intervalMs: 3_600_000, requestTimeoutMs: 2000, minFreeBytes: 0,
    bus: { path: pair.b, protocol: 'modbus', baudRate: 9600, timeoutMs: 300 },
    ledger: { url: b.ledgerUrl }, collector: { url: b.collectorUrl },
  }, { log });
  t.teardown(() => gw.close());
  await gw.enrolled;
  await gw.pollNow();
  await gw.pollNow();
  await waitUntil('delivered', () => gw.drained(), 60_000);
  const anchors = ledgerAnchors(b.ledgerDir);
  for (const u of [1, 2, 3]) {
    const id = `BUS-${u}`;
    t.same(anchors.get(id), [1n, 2n], `${id}: two readings anchored`);
    const stored = await b.collector!.store.readings(id, 1n, 10n);
    t.equal(stored.length, 2, `${id}: two readings collected`);
    const energy = stored[0]!.reading.registers.find((r) => r.obis === '1.0.1.8.0.255');
    t.ok(energy && energy.value >= 5000n, `${id}: the energy register as the simulated meter reported it`);
  }
  t.same(anchors.get('BUS-9'), [1n, 2n], 'BUS-9: two gaps anchored');
  const gaps = b.collector!.gaps.explainedGaps('BUS-9');
  t.equal(gaps.length, 2, 'BUS-9: both polls explained');
  t.ok(gaps.every((g) => g.signer === 'GW-BUS' && (g.reason === 'SerialFailure' || g.reason === 'BusTimeout')), 'signed by the gateway, reason given');
});
