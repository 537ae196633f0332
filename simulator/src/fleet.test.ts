import t from 'tap';
import { PassThrough, Duplex } from 'node:stream';
import { dlt645AddressToWire, dlt645DiToData, encodeDlt645Frame, parseDlt645Frame } from './dlt645/codec.js';
import { startDlt645Simulator } from './dlt645/server.js';
import { startFleet } from './fleet.js';
import { createPtyPair, socatAvailable } from './pty.js';
import { withCrc } from './rtu/crc.js';
import { encodeReadRequest } from './rtu/frame.js';
import { ByteCollector, closeSerial, openSerialClient, silentLog } from './test-helpers.js';

const FIXED = Date.UTC(2026, 0, 31, 17, 59, 58); // Sat 31 Jan 2026 17:59:58 UTC = Sun 1 Feb 01:59:58 in Beijing
const hasSocat = await socatAvailable();
const pty = hasSocat ? {} : { skip: 'socat is not installed: fleet tests need real pty pairs' };

t.test('a Modbus fleet on one multi-drop bus: each unit id 1..3 answers only for itself', pty, async (t) => {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const fleet = await startFleet({ protocol: 'modbus', meters: 3, path: pair.a, initialEnergyWh: 100 }, { log: silentLog(), clock: () => FIXED });
  t.teardown(() => fleet.close());
  t.same(fleet.meters.map((m) => [m.unitId, m.agentPath]), [[1, pair.a], [2, pair.a], [3, pair.a]]);
  const client = await openSerialClient(pair.b);
  t.teardown(() => closeSerial(client));
  const rx = new ByteCollector(client);
  for (const unit of [2, 3, 1]) {
    client.write(Buffer.from(encodeReadRequest(unit, 3, 0x4000, 2)));
    const res = await rx.take(9);
    t.equal(res[0], unit, `unit ${unit} answered`);
    t.same(withCrc(res.subarray(0, 7)), new Uint8Array(res), 'CRC valid');
  }
  await new Promise((r) => setTimeout(r, 50));
  t.equal(rx.pending, 0, 'exactly one answer per request');
  t.same(fleet.meters.map((m) => m.handle.stats().frames), [3, 3, 3], 'every meter heard every request');
});

t.test('a DL/T 645 fleet without a port: one pty pair per meter, addresses 1..2', pty, async (t) => {
  const fleet = await startFleet({ protocol: 'dlt645', meters: 2 }, { log: silentLog(), clock: () => FIXED });
  t.teardown(() => fleet.close());
  t.same(fleet.meters.map((m) => m.address), ['000000000001', '000000000002']);
  t.not(fleet.meters[0]!.agentPath, fleet.meters[1]!.agentPath, 'separate devices');
  for (const m of fleet.meters) {
    const client = await openSerialClient(m.agentPath, 2400);
    t.teardown(() => closeSerial(client));
    const rx = new ByteCollector(client);
    client.write(Buffer.from(encodeDlt645Frame({ addressWire: new Uint8Array(6).fill(0xaa), control: 0x13, data: new Uint8Array(0) })));
    const head = await rx.take(14);
    const body = await rx.take(head[13]! + 2);
    const f = parseDlt645Frame(Buffer.concat([head, body]).subarray(4));
    t.same([...f.data], [...dlt645AddressToWire(m.address!)], `${m.address} answers read address`);
  }
  fleet.reboot(2);
  t.equal(fleet.meters[1]!.handle.stats().line.reboots, 1);
  t.equal(fleet.meters[0]!.handle.stats().line.reboots, 0);
});

t.test('DL/T 645 date (04000101) and time (04000102) come from the model clock in the meter\'s time zone', async (t) => {
  const toSim = new PassThrough();
  const fromSim = new PassThrough();
  const stream = Duplex.from({ readable: toSim, writable: fromSim });
  const sim = await startDlt645Simulator({ address: '000000000007', preamble: 0 }, { log: silentLog(), stream, clock: () => FIXED });
  t.teardown(() => sim.close());
  const rx = new ByteCollector(fromSim);
  const ask = async (di: string): Promise<string> => {
    toSim.write(Buffer.from(encodeDlt645Frame({ addressWire: dlt645AddressToWire('000000000007'), control: 0x11, data: dlt645DiToData(di) })));
    const head = await rx.take(10);
    const f = parseDlt645Frame(Buffer.concat([head, await rx.take(head[9]! + 2)]));
    t.equal(f.control, 0x91);
    return Buffer.from(f.data.subarray(4)).reverse().toString('hex'); // BCD digits, most significant first
  };
  t.equal(await ask('04000101'), '26020100', 'YYMMDDWW: 1 Feb 2026, Sunday (00) at UTC+8');
  t.equal(await ask('04000102'), '015958', 'hhmmss');
});

t.test('clock drift: a meter 1000 ppm fast shows 3.6 s more per hour', async (t) => {
  let now = FIXED;
  const toSim = new PassThrough();
  const fromSim = new PassThrough();
  const stream = Duplex.from({ readable: toSim, writable: fromSim });
  const sim = await startDlt645Simulator({ address: '000000000007', preamble: 0, faults: { driftPpm: 1000 } }, { log: silentLog(), stream, clock: () => now });
  t.teardown(() => sim.close());
  now += 3_600_000;
  t.equal(sim.model.snapshot().timeMs - FIXED, 3_603_600);
});
