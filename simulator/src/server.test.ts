import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { decodeRegister, loadProfile, splitBlock, readBlocks } from '@meterseal/hardware';
import modbusSerial from 'modbus-serial';
import { withCrc } from './rtu/crc.js';
import { encodeException, encodeReadRequest } from './rtu/frame.js';
import { createPtyPair, socatAvailable } from './pty.js';
import { createInProcessLink } from './link.js';
import { startSimulator, type SimulatorHandle } from './server.js';
import { ByteCollector, closeSerial, openSerialClient, silentLog } from './test-helpers.js';

const FIXED = Date.UTC(2025, 5, 1, 18, 30, 0);
const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');
const profile = loadProfile('chint-ddsu666');
const byName = Object.fromEntries(profile.registers.map((r) => [r.name, r]));

interface HasTeardown {
  teardown(fn: () => unknown): void;
}

interface Rig {
  sim: SimulatorHandle;
  write: (b: Uint8Array) => void;
  rx: ByteCollector;
}

/** Simulator on one end of a fresh pty pair; returns the other end's path (for a peer such as mbpoll). */
async function ptySim(t: HasTeardown): Promise<{ sim: SimulatorHandle; path: string }> {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const sim = await startSimulator({ path: pair.a, seed: 42, initialEnergyWh: 12_345 }, { log: silentLog(), clock: () => FIXED });
  t.teardown(() => sim.close());
  return { sim, path: pair.b };
}

/** …plus a serialport client on the other end. */
async function ptyRig(t: HasTeardown): Promise<Rig> {
  const { sim, path } = await ptySim(t);
  const client = await openSerialClient(path);
  t.teardown(() => closeSerial(client));
  return { sim, write: (b) => client.write(Buffer.from(b)), rx: new ByteCollector(client) };
}

const hasSocat = await socatAvailable();
const pty = hasSocat ? {} : { skip: 'socat is not installed (apt-get install -y socat): pty tests need a real pty pair' };

t.test('over a real pty: a read of 0x2000×8 returns the model values in the profile encoding', pty, async (t) => {
  const { sim, write, rx } = await ptyRig(t);
  write(encodeReadRequest(1, 3, 0x2000, 8));
  const res = await rx.take(5 + 16);
  t.same([...res.subarray(0, 3)], [1, 3, 16], 'unit, function, byte count');
  t.same(withCrc(res.subarray(0, 19)), new Uint8Array(res), 'CRC valid');
  const snap = sim.model.snapshot();
  const [block] = readBlocks(profile);
  const got = Object.fromEntries(splitBlock(block!, res.subarray(3, 19)).map(({ def, raw }) => [def.name, decodeRegister(def, raw).value]));
  t.equal(got.voltage, BigInt(Math.round(Math.fround(snap.voltageV) * 100)));
  t.equal(got.current, BigInt(Math.round(Math.fround(snap.currentA) * 1000)));
  t.equal(got.active_power, BigInt(Math.round(snap.activePowerW)));
  t.equal(rx.pending, 0, 'nothing else on the line');
  t.equal(sim.stats().responses, 1);
});

t.test('a request with a corrupted CRC gets no answer and is counted', pty, async (t) => {
  const { sim, write, rx } = await ptyRig(t);
  const bad = encodeReadRequest(1, 3, 0x4000, 2);
  bad[6]! ^= 0x01;
  write(bad);
  write(encodeReadRequest(1, 3, 0x200e, 2));
  const res = await rx.take(9);
  t.same([...res.subarray(0, 3)], [1, 3, 4], 'the first bytes back answer the good request (frequency)');
  t.equal(decodeRegister(byName.frequency!, res.subarray(3, 7)).value, BigInt(Math.round(Math.fround(sim.model.snapshot().frequencyHz) * 100)));
  t.match(sim.stats(), { crcErrors: 1, responses: 1, exceptions: 0 });
});

t.test('requests for another unit id and broadcasts are never answered', pty, async (t) => {
  const { sim, write, rx } = await ptyRig(t);
  write(encodeReadRequest(2, 3, 0x2000, 2));
  write(encodeReadRequest(0, 3, 0x2000, 2));
  write(encodeReadRequest(1, 3, 0x4000, 2));
  const res = await rx.take(9);
  t.same([...res.subarray(0, 3)], [1, 3, 4]);
  t.equal(decodeRegister(byName.active_energy_import!, res.subarray(3, 7)).value, 12_345n, 'import energy in Wh');
  t.match(sim.stats(), { otherUnit: 1, broadcasts: 1, responses: 1, frames: 3 });
});

t.test('exceptions: 02 for unmapped addresses and writes, 01 for unsupported functions, 03 for bad quantity', pty, async (t) => {
  const { sim, write, rx } = await ptyRig(t);
  write(encodeReadRequest(1, 3, 0x2008, 2)); // not in the map
  t.same(await rx.take(5), hex('018302c0f1'));
  write(encodeReadRequest(1, 4, 0x2000, 2)); // mapped for FC 03 only
  t.same(await rx.take(5), Buffer.from(encodeException(1, 4, 2)));
  write(encodeReadRequest(1, 3, 0x200e, 4)); // runs past frequency into unmapped space
  t.same(await rx.take(5), Buffer.from(encodeException(1, 3, 2)));
  write(withCrc(hex('0106 2000 0001')));
  t.same(await rx.take(5), Buffer.from(encodeException(1, 6, 2)));
  write(withCrc(hex('0101 0000 0008')));
  t.same(await rx.take(5), Buffer.from(encodeException(1, 1, 1)));
  write(encodeReadRequest(1, 3, 0x2000, 126));
  t.same(await rx.take(5), Buffer.from(encodeException(1, 3, 3)));
  t.match(sim.stats(), { exceptions: 6, responses: 0 });
});

t.test('garbage bytes before a valid frame still get an answer', pty, async (t) => {
  const { sim, write, rx } = await ptyRig(t);
  write(hex('ff 00 13 37 01 03'));
  write(Buffer.concat([hex('aa 55 01'), Buffer.from(encodeReadRequest(1, 3, 0x200a, 2))]));
  const res = await rx.take(9);
  t.same([...res.subarray(0, 3)], [1, 3, 4]);
  t.ok(sim.stats().discardedBytes >= 9, `discarded ${sim.stats().discardedBytes}`);
  t.equal(sim.stats().responses, 1);
});

const MBPOLL = '/usr/bin/mbpoll';
const mbpoll = !hasSocat ? pty : existsSync(MBPOLL) ? {} : { skip: `${MBPOLL} is not installed (apt-get install -y mbpoll)` };
t.test('mbpoll, an independent Modbus master, reads voltage and current over the pty', mbpoll, async (t) => {
  const { sim, path } = await ptySim(t); // no other reader on that end: mbpoll must get the answer
  // -0: PDU (0-based) addresses; -B: big-endian word order; -t 4:float: FC 03 float32; 9600 8N1; one poll.
  const args = ['-m', 'rtu', '-a', '1', '-b', '9600', '-d', '8', '-P', 'none', '-s', '1', '-t', '4:float', '-B', '-0',
    '-r', String(0x2000), '-c', '2', '-o', '2', '-1', path];
  const out = await new Promise<string>((resolve, reject) => {
    execFile(MBPOLL, args, { timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
  const values = Object.fromEntries([...out.matchAll(/^\[(\d+)\]:\s+(-?[\d.]+)/gm)].map((m) => [Number(m[1]), Number(m[2])]));
  const snap = sim.model.snapshot();
  t.ok(Math.abs(values[0x2000]! - snap.voltageV) < 0.001, `mbpoll voltage ${values[0x2000]} vs model ${snap.voltageV}`);
  t.ok(Math.abs(values[0x2002]! - snap.currentA) < 0.0001, `mbpoll current ${values[0x2002]} vs model ${snap.currentA}`);
});

t.test('in-process link: modbus-serial reads the simulator through the custom port', async (t) => {
  const link = createInProcessLink();
  t.teardown(() => link.close());
  const sim = await startSimulator({ seed: 9, initialEnergyWh: 500 }, { log: silentLog(), stream: link.serverStream, clock: () => FIXED });
  t.teardown(() => sim.close());
  const client = new modbusSerial.default(link.clientPort);
  await new Promise<void>((resolve, reject) => client.open((err: Error | null) => (err ? reject(err) : resolve())));
  t.teardown(() => new Promise<void>((resolve) => client.close(() => resolve())));
  client.setID(1);
  client.setTimeout(1000);
  const res = await client.readHoldingRegisters(0x4000, 2);
  t.equal(decodeRegister(byName.active_energy_import!, new Uint8Array(res.buffer)).value, 500n);
  const err: unknown = await client.readHoldingRegisters(0x2008, 2).then(() => null, (e: unknown) => e);
  t.match(err, { modbusCode: 2 }, 'exception 02 reaches the client');
  t.match(sim.stats(), { responses: 1, exceptions: 1 });
});
