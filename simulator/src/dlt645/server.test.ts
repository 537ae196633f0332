import t from 'tap';
import { PassThrough, Duplex } from 'node:stream';
import { createPtyPair, socatAvailable } from '../pty.js';
import { ByteCollector, closeSerial, openSerialClient, silentLog } from '../test-helpers.js';
import { dlt645AddressToWire, dlt645DiToData, encodeDlt645Frame, parseDlt645Frame } from './codec.js';
import { startDlt645Simulator, type Dlt645SimulatorHandle } from './server.js';

const FIXED = Date.UTC(2025, 5, 1, 18, 30, 0);
const ADDRESS = '121078563412'; // the captured slave's address (wire 12 34 56 78 10 12)
const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface HasTeardown {
  teardown(fn: () => unknown): void;
}
interface Rig {
  sim: Dlt645SimulatorHandle;
  write: (b: Uint8Array) => void;
  rx: ByteCollector;
}

const request = (address: string, control: number, data: Uint8Array = new Uint8Array(0)): Uint8Array =>
  encodeDlt645Frame({ addressWire: address === 'AA' ? new Uint8Array(6).fill(0xaa) : dlt645AddressToWire(address), control, data });
const readDi = (di: string, address = ADDRESS): Uint8Array => request(address, 0x11, dlt645DiToData(di));

/** Takes one answer frame (4 FEH + 12 + L bytes) off the line. */
async function answer(rx: ByteCollector): Promise<{ bytes: Buffer; control: number; data: Uint8Array }> {
  const head = await rx.take(4 + 10);
  const rest = await rx.take(head[13]! + 2);
  const bytes = Buffer.concat([head, rest]);
  const f = parseDlt645Frame(bytes.subarray(4));
  return { bytes, control: f.control, data: f.data };
}

async function ptyRig(t: HasTeardown, config: Record<string, unknown> = {}): Promise<Rig> {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const sim = await startDlt645Simulator({ path: pair.a, address: ADDRESS, seed: 7, initialEnergyWh: 2_345_670, ...config }, { log: silentLog(), clock: () => FIXED });
  t.teardown(() => sim.close());
  const client = await openSerialClient(pair.b, 2400);
  t.teardown(() => closeSerial(client));
  return { sim, write: (b) => client.write(Buffer.from(b)), rx: new ByteCollector(client) };
}

async function streamRig(t: HasTeardown): Promise<Rig> {
  const toSim = new PassThrough();
  const fromSim = new PassThrough();
  const stream = Duplex.from({ readable: toSim, writable: fromSim });
  const sim = await startDlt645Simulator({ address: ADDRESS, seed: 7, initialEnergyWh: 2_345_670 }, { log: silentLog(), stream, clock: () => FIXED });
  t.teardown(() => sim.close());
  return { sim, write: (b) => toSim.write(Buffer.from(b)), rx: new ByteCollector(fromSim) };
}

const hasSocat = await socatAvailable();
const pty = hasSocat ? {} : { skip: 'socat is not installed (apt-get install -y socat): pty tests need a real pty pair' };

t.test('over a real pty: read address and forward energy answer byte-identical to the captured meter', pty, async (t) => {
  const { sim, write, rx } = await ptyRig(t);
  write(request('AA', 0x13));
  t.equal(toHex((await answer(rx)).bytes), 'fefefefe68123456781012689306456789ab43450716', 'read address (93H)');
  write(readDi('00010000'));
  t.equal(toHex((await answer(rx)).bytes), 'fefefefe68123456781012689108333334339a7856330716', '2345.67 kWh (91H)');
  t.match(sim.stats(), { frames: 2, responses: 2, errors: 0 });
});

t.test('over a real pty: voltage, current and power come from the model', pty, async (t) => {
  const { sim, write, rx } = await ptyRig(t);
  const snap = sim.model.snapshot();
  write(readDi('02010100'));
  const v = await answer(rx);
  t.equal(toHex(v.data.subarray(0, 4)), '00010102', 'the answer repeats the DI, DI0 first');
  const tenthsV = Number(toHex(v.data.subarray(4).reverse()));
  t.equal(tenthsV, Math.round(snap.voltageV * 10), `voltage ${tenthsV / 10} V`);
  t.ok(tenthsV > 2250 && tenthsV < 2350);
  write(readDi('02030000'));
  const p = await answer(rx);
  t.equal(Number(toHex(p.data.subarray(4).reverse())), Math.round(snap.activePowerW * 10), 'power in 0.1 W (XX.XXXX kW)');
});

t.test('an unknown data identifier gets the abnormal answer D1H with error 02H', pty, async (t) => {
  const { sim, write, rx } = await ptyRig(t);
  write(readDi('04000401'));
  const a = await answer(rx);
  t.equal(a.control, 0xd1);
  t.same([...a.data], [0x02], 'ERR bit 1: no data requested');
  write(request(ADDRESS, 0x14, hex('00010000')));
  t.equal((await answer(rx)).control, 0xd4, 'a write to a read-only meter is refused (D4H)');
  t.match(sim.stats(), { errors: 2, responses: 0 });
});

t.test('other addresses, broadcasts and bad checksums are never answered', pty, async (t) => {
  const { sim, write, rx } = await ptyRig(t);
  write(readDi('00010000', '000000000002'));
  write(request('999999999999', 0x08, hex('000000010125')));
  const bad = readDi('00010000');
  bad[bad.length - 2]! ^= 0x01;
  write(bad);
  write(hex('00 13 37'));
  write(readDi('02800002'));
  const a = await answer(rx);
  t.equal(toHex(a.data.subarray(0, 4)), '02008002', 'the first bytes back answer the good request (frequency)');
  t.equal(rx.pending, 0, 'nothing else on the line');
  t.match(sim.stats(), { otherAddress: 1, broadcasts: 1, checksumErrors: 1, responses: 1 });
});

t.test('over a stream: wildcard address, split chunks, tariffs sum to the total, energy rises', async (t) => {
  let now = FIXED;
  const toSim = new PassThrough();
  const fromSim = new PassThrough();
  const sim = await startDlt645Simulator({ address: ADDRESS, seed: 7, initialEnergyWh: 1000 }, { log: silentLog(), stream: Duplex.from({ readable: toSim, writable: fromSim }), clock: () => now });
  t.teardown(() => sim.close());
  const rx = new ByteCollector(fromSim);
  const read = async (di: string): Promise<bigint> => {
    // §5.2.2 shortened addressing: the high bytes A4, A5 are AAH wildcards.
    const frame = encodeDlt645Frame({ addressWire: hex('12345678aaaa'), control: 0x11, data: dlt645DiToData(di) });
    for (let i = 0; i < frame.length; i += 2) toSim.write(Buffer.from(frame.subarray(i, i + 2)));
    const a = await answer(rx);
    t.equal(toHex(a.bytes.subarray(5, 11)), '123456781012', 'answers with its real address');
    return BigInt(toHex(a.data.subarray(4).reverse()));
  };
  t.equal(await read('00010000'), 100n, '1.00 kWh at start');
  now += 3 * 3_600_000;
  const total = await read('00010000');
  t.ok(total > 100n, `energy rose to ${total} × 0.01 kWh`);
  const tariffs = [await read('00010100'), await read('00010200'), await read('00010300'), await read('00010400')];
  const short = total - tariffs.reduce((a, b) => a + b, 0n);
  t.ok(short >= 0n && short <= 3n, `the tariffs sum to the total but for rounding each down to 0.01 kWh (${short})`);
  t.equal(tariffs[0], sim.tariffs.milliWh(1) / 10_000n);
});

t.test('stream rig answers the captured read-address request', async (t) => {
  const { write, rx } = await streamRig(t);
  write(hex('fefefefe68aaaaaaaaaaaa681300df16'));
  t.equal(toHex((await answer(rx)).bytes), 'fefefefe68123456781012689306456789ab43450716');
});

t.test('bad config and transports are refused', async (t) => {
  await t.rejects(startDlt645Simulator({ address: '12' }, { log: silentLog() }), { code: 'CONFIG_INVALID', message: /address/ });
  await t.rejects(startDlt645Simulator({}, { log: silentLog() }), { code: 'NO_TRANSPORT' });
  await t.rejects(startDlt645Simulator({ path: '/dev/x', profile: 'chint-ddsu666' }, { log: silentLog() }), { code: 'PROFILE' });
});
