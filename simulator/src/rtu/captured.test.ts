// Real frames captured on a pty between hand-built requests and three independent Modbus RTU slaves (pymodbus,
// libmodbus, modbus-serial): our parser, framer and CRC must agree with every byte, and our simulator must answer
// the same requests with frames of the same shape. Vector provenance: simulator/test-vectors/modbus/README.md.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { decodeRegister, parseProfile, type RegisterDef } from '@meterseal/hardware';
import { crc16, crcValid } from './crc.js';
import { encodeException, encodeResponse, parseRequest, type ModbusRequest } from './frame.js';
import { RtuRequestFramer } from './framer.js';
import { RegisterBank } from '../register-bank.js';
import type { MeterSnapshot } from '../meter-model.js';
import { createInProcessLink } from '../link.js';
import { startSimulator } from '../server.js';
import { silentLog } from '../test-helpers.js';

interface Exchange {
  request: string;
  response: string | null;
  response_crc_ok: boolean;
}
const vectors = JSON.parse(
  readFileSync(new URL('../../test-vectors/modbus/rtu_frames_captured.json', import.meta.url), 'utf8'),
) as { description: string; servers: Record<string, Exchange[]> };

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const u16 = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!; // Modbus Application Protocol V1.1b3 §4.2
const servers = Object.keys(vectors.servers);
const PYMODBUS = servers.find((s) => s.startsWith('pymodbus'))!;
const LIBMODBUS = servers.find((s) => s.startsWith('libmodbus'))!;
const MODBUS_SERIAL = servers.find((s) => s.startsWith('modbus-serial'))!;
const requests = vectors.servers[PYMODBUS]!.map((e) => e.request);
const SUPPORTED = new Set([3, 4, 6, 16]);

t.test('the capture: three servers, the same twelve requests in the same order', async (t) => {
  t.same([PYMODBUS, LIBMODBUS, MODBUS_SERIAL].map(Boolean), [true, true, true]);
  t.equal(servers.length, 3);
  for (const s of servers) t.same(vectors.servers[s]!.map((e) => e.request), requests, s);
  t.equal(requests.length, 12);
});

t.test('every request carries a valid CRC-16, low byte first (Modbus over Serial Line V1.02 §2.5.1.2, §6.2.2)', async (t) => {
  for (const r of requests) {
    const b = hex(r);
    const crc = crc16(b, 0, b.length - 2);
    t.same([b.at(-2), b.at(-1)], [crc & 0xff, crc >>> 8], r);
    t.ok(crcValid(b));
  }
});

t.test('parseRequest: supported requests parse to their fields, the others carry an exception 01 target', async (t) => {
  const parsed = requests.map((r) => {
    try {
      return parseRequest(hex(r));
    } catch (err) {
      return { code: (err as { code: string }).code, exception: (err as { exception?: unknown }).exception };
    }
  });
  t.same(parsed, [
    { unitId: 1, functionCode: 3, address: 0, quantity: 10 },
    { unitId: 1, functionCode: 4, address: 0, quantity: 10 },
    { unitId: 1, functionCode: 3, address: 0, quantity: 2 },
    { unitId: 1, functionCode: 6, address: 0x14, quantity: 1, values: [0xc8] },
    { unitId: 1, functionCode: 16, address: 0x14, quantity: 2, values: [1, 2] },
    { unitId: 1, functionCode: 3, address: 0x14, quantity: 2 },
    { code: 'ILLEGAL_FUNCTION', exception: { unitId: 1, functionCode: 0x11, exceptionCode: 1 } }, // report server id
    { unitId: 1, functionCode: 3, address: 0x64, quantity: 10 },
    { code: 'ILLEGAL_FUNCTION', exception: { unitId: 1, functionCode: 0x2b, exceptionCode: 1 } }, // read device id
    { code: 'ILLEGAL_FUNCTION', exception: { unitId: 1, functionCode: 5, exceptionCode: 1 } }, // write coil
    { code: 'ILLEGAL_FUNCTION', exception: { unitId: 1, functionCode: 1, exceptionCode: 1 } }, // read coils
    { unitId: 2, functionCode: 3, address: 0, quantity: 1 },
  ]);
});

t.test('RtuRequestFramer: the whole capture in odd-sized chunks yields every supported request, intact and in order', async (t) => {
  const stream = hex(requests.join(''));
  const supported = requests.filter((r) => SUPPORTED.has(hex(r)[1]!));
  for (const size of [1, 3, 5, 7, 9, 11, 13, 17, stream.length]) {
    const f = new RtuRequestFramer();
    const out: string[] = [];
    for (let i = 0; i < stream.length; i += size) out.push(...f.push(stream.subarray(i, i + size)).map(toHex));
    t.same(out.filter((x) => SUPPORTED.has(hex(x)[1]!)), supported, `chunks of ${size}`);
    t.ok(out.every((x) => requests.includes(x)), 'no frame that was not sent');
    t.equal(f.crcErrors, 0, 'no false candidate failed its CRC');
    t.equal(out.reduce((n, x) => n + x.length / 2, 0) + f.discardedBytes + f.buffered, stream.length, 'every byte framed or counted');
  }
});

t.test('RtuRequestFramer: an unsupported function code is framed only when it arrives whole (its length is unknown)', async (t) => {
  for (const r of requests.filter((x) => !SUPPORTED.has(hex(x)[1]!))) {
    const whole = new RtuRequestFramer();
    t.same(whole.push(hex(r)).map(toHex), [r], `${r.slice(0, 4)} alone: framed, so the server can answer exception 01`);
    const split = new RtuRequestFramer();
    const b = hex(r);
    const out: string[] = [];
    for (let i = 0; i < b.length; i += 3) out.push(...split.push(b.subarray(i, i + 3)).map(toHex));
    t.same(out, [], `${r.slice(0, 4)} in chunks of 3: dropped as garbage, never mis-framed`);
    t.same(split.push(hex(requests[0]!)).map(toHex), [requests[0]], 'and the next request still gets through');
  }
});

/** Checks one captured response against its request; returns a one-word shape. */
function checkResponse(t: Tap, req: Uint8Array, res: Uint8Array, label: string): string {
  t.ok(crcValid(res), `${label}: CRC`);
  t.equal(res[0], req[0], `${label}: unit id echoed`);
  const fc = res[1]!;
  if (fc & 0x80) {
    // Modbus Application Protocol V1.1b3 §7: function | 0x80, one exception code byte.
    t.equal(fc & 0x7f, req[1], `${label}: exception for the requested function`);
    t.equal(res.length, 5, `${label}: exception frame is 5 bytes`);
    t.ok(res[2]! >= 1 && res[2]! <= 0x0b, `${label}: exception code ${res[2]}`);
    return `exception ${res[2]}`;
  }
  t.equal(fc, req[1], `${label}: function echoed`);
  switch (fc) {
    case 3:
    case 4: // §6.3/§6.4: byte count = 2 × quantity
      t.equal(res[2], 2 * u16(req, 4), `${label}: byte count`);
      t.equal(res.length, 5 + res[2]!, `${label}: length`);
      return 'registers';
    case 1: // §6.1: byte count = ceil(quantity / 8)
      t.equal(res[2], Math.ceil(u16(req, 4) / 8), `${label}: coil byte count`);
      t.equal(res.length, 5 + res[2]!, `${label}: length`);
      return 'coils';
    case 5:
    case 6: // §6.5/§6.6: the response echoes the request
      t.equal(toHex(res), toHex(req), `${label}: echo`);
      return 'echo';
    case 16: // §6.12: address and quantity
      t.equal(toHex(res.subarray(0, 6)), toHex(req.subarray(0, 6)), `${label}: address and quantity`);
      t.equal(res.length, 8);
      return 'written';
    case 0x11: // §6.17: byte count, then server id, run indicator, additional data
      t.equal(res.length, 5 + res[2]!, `${label}: length`);
      return 'server id';
    case 0x2b: {
      // §6.21 read device identification: MEI 0E, code, conformity, more, next id, count, then id/length/value objects
      t.equal(res[2], 0x0e, `${label}: MEI type 0E`);
      let i = 8;
      for (let n = 0; n < res[7]!; n++) i += 2 + res[i + 1]!;
      t.equal(i + 2, res.length, `${label}: ${res[7]} objects fill the frame`);
      return 'device id';
    }
    default:
      t.fail(`${label}: unexpected function ${fc}`);
      return 'unknown';
  }
}
type Tap = Pick<typeof t, 'ok' | 'equal' | 'same' | 'fail'>;

t.test('every captured response decodes consistently: CRC, layout, exception codes', async (t) => {
  const shapes: Record<string, Array<string | null>> = {};
  for (const s of servers) {
    shapes[s] = vectors.servers[s]!.map((e, i) => {
      if (e.response === null) {
        t.equal(e.response_crc_ok, false, `${s} #${i}: no response recorded`);
        return null;
      }
      t.equal(crcValid(hex(e.response)), e.response_crc_ok, `${s} #${i}: response_crc_ok agrees with crc16`);
      return checkResponse(t, hex(e.request), hex(e.response), `${s} #${i}`);
    });
  }
  t.same(shapes[PYMODBUS], ['registers', 'registers', 'registers', 'echo', 'written', 'registers', 'server id', 'exception 2', 'device id', 'echo', 'coils', null]);
  t.same(shapes[LIBMODBUS], ['registers', 'registers', 'registers', 'echo', 'written', 'registers', 'server id', 'exception 2', null, 'echo', 'coils', null]);
  t.same(shapes[MODBUS_SERIAL], ['registers', 'registers', 'registers', 'echo', 'written', 'registers', null, 'exception 4', 'exception 1', 'echo', 'coils', null]);
  for (const i of [0, 1, 2, 3, 4, 5, 9]) {
    t.equal(new Set(servers.map((s) => vectors.servers[s]![i]!.response)).size, 1, `#${i}: all three slaves answer byte for byte alike`);
  }
  t.equal(vectors.servers[MODBUS_SERIAL]![10]!.response, '010101005188', "modbus-serial's coil reads 0 (the file's note: setCoil ignored)");
});

// The slaves' register map as a profile, so the capture's data bytes decode through @meterseal/hardware.
const CAPTURED_MAP = (() => {
  const f = (name: string, quantity: string, obis: string, address: number, functionCode: 3 | 4, type: string, unit: string) => ({
    name, quantity, obis, address, functionCode, type, sourceUnit: unit, sourceScaler: 0, unit, scaler: 0,
  });
  return parseProfile({
    id: 'captured-slaves', manufacturer: 'vectors', model: 'rtu_frames_captured', source: 'simulator/test-vectors/modbus/README.md',
    serial: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 }, defaultUnitId: 1,
    registers: [
      f('hr_voltage', 'voltage', '1.0.32.7.0.255', 0, 3, 'float32', 'V'),
      f('hr_current', 'current', '1.0.31.7.0.255', 2, 3, 'float32', 'A'),
      f('hr_power', 'active_power', '1.0.16.7.0.255', 4, 3, 'float32', 'W'),
      f('hr_energy', 'active_energy', '1.0.1.8.0.255', 6, 3, 'float32', 'Wh'),
      f('hr_word_a', 'frequency', '1.0.14.7.0.255', 8, 3, 'uint16', 'Hz'),
      f('hr_word_b', 'power_factor', '1.0.13.7.0.255', 9, 3, 'uint16', '1'),
      f('ir_voltage', 'voltage', '1.0.52.7.0.255', 0, 4, 'float32', 'V'),
      f('ir_current', 'current', '1.0.51.7.0.255', 2, 4, 'float32', 'A'),
      f('ir_power', 'active_power', '1.0.36.7.0.255', 4, 4, 'float32', 'W'),
      f('ir_energy', 'active_energy', '1.0.1.8.1.255', 6, 4, 'float32', 'Wh'),
      f('ir_word_a', 'frequency', '1.0.14.7.1.255', 8, 4, 'uint16', 'Hz'),
      f('ir_word_b', 'power_factor', '1.0.33.7.0.255', 9, 4, 'uint16', '1'),
    ],
  });
})();
// The values the description gives, as a model snapshot the simulator's register bank encodes.
const CAPTURED_VALUES: MeterSnapshot = {
  timeMs: 0, voltageV: 230.1, currentA: 5.25, activePowerW: 1208, reactivePowerVar: 0, apparentPowerVA: 0,
  powerFactor: 42, frequencyHz: 0x1234, energyImportMilliWh: 12_345_678n, energyExportMilliWh: 0n,
};

t.test('the captured register data decodes to the values the capture describes', async (t) => {
  const res = hex(vectors.servers[LIBMODBUS]![1]!.response!); // FC 04, 0x0000 × 10
  const defs = CAPTURED_MAP.registers.filter((r) => r.functionCode === 4);
  const at = (d: RegisterDef): Uint8Array => res.subarray(3 + 2 * d.address, 3 + 2 * d.address + (d.type === 'float32' ? 4 : 2));
  t.same(defs.map((d) => [d.name, decodeRegister({ ...d, scaler: d.type === 'float32' ? -3 : 0 }, at(d)).value]), [
    ['ir_voltage', 230100n], ['ir_current', 5250n], ['ir_power', 1208000n], ['ir_energy', 12345678n], ['ir_word_a', 0x1234n], ['ir_word_b', 42n],
  ]);
});

t.test('our register bank and response encoder reproduce the slaves\' answers byte for byte', async (t) => {
  const bank = new RegisterBank(CAPTURED_MAP);
  const answer = (reqHex: string): string => {
    const req = parseRequest(hex(reqHex)) as ModbusRequest & { functionCode: 3 | 4 };
    const data = bank.read(req.functionCode, req.address, req.quantity, CAPTURED_VALUES);
    return toHex(data ? encodeResponse(req, data) : encodeException(req.unitId, req.functionCode, 2));
  };
  for (const i of [0, 1, 2]) t.equal(answer(requests[i]!), vectors.servers[PYMODBUS]![i]!.response, `#${i} ${requests[i]}`);
  t.equal(answer(requests[7]!), vectors.servers[PYMODBUS]![7]!.response, '0x0064×10 past the map: exception 02 as pymodbus');
  t.equal(answer(requests[7]!), vectors.servers[LIBMODBUS]![7]!.response, '… and as libmodbus');
});

t.test('the simulator answers the captured requests with frames of the same shape', async (t) => {
  // eastron-sdm630 maps input registers 0..0x11 (FC 04), so request #1 reads real registers; it maps no holding
  // registers and nothing writable, so the FC 03/06/16 requests get exception 02 by design (a read-only meter map).
  const link = createInProcessLink();
  t.teardown(() => link.close());
  const sim = await startSimulator({ profile: 'eastron-sdm630', seed: 3 }, { log: silentLog(), stream: link.serverStream, clock: () => Date.UTC(2025, 5, 1) });
  t.teardown(() => sim.close());
  const port = link.clientPort;
  await new Promise<void>((resolve) => port.open(() => resolve()));
  const frames: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  port.on('data', (b: Buffer) => {
    frames.push(new Uint8Array(b));
    wake?.();
  });
  const next = async (): Promise<Uint8Array> => {
    while (frames.length === 0) await new Promise<void>((r) => (wake = r));
    return frames.shift()!;
  };
  const ours: Array<string | null> = [];
  for (const r of requests) {
    if (hex(r)[0] !== 1) {
      // Unit 2: never answered. Follow it with a request we know the answer to; the next frame must be that answer.
      port.write(hex(r));
      port.write(hex(requests[7]!));
      t.equal(toHex(await next()), toHex(encodeException(1, 3, 2)), 'unit 2: no answer; the following request is answered first');
      ours.push(null);
      continue;
    }
    port.write(hex(r));
    const res = await next();
    ours.push(checkResponse(t, hex(r), res, `simulator ${r.slice(0, 4)}`));
    if (r === requests[1]) {
      for (const s of servers) t.equal(res.length, hex(vectors.servers[s]![1]!.response!).length, `FC 04 0x0000×10: same length as ${s}`);
      t.equal(toHex(res.subarray(0, 3)), '010414', 'same header: unit 1, FC 04, 20 bytes');
    }
    if (r === requests[7]) {
      t.equal(toHex(res), vectors.servers[PYMODBUS]![7]!.response, 'past the map: byte for byte as pymodbus and libmodbus');
    }
    if (r === requests[8]) t.equal(toHex(res), vectors.servers[MODBUS_SERIAL]![8]!.response, 'FC 2B: byte for byte as modbus-serial');
  }
  t.same(ours, [
    'exception 2', 'registers', 'exception 2', 'exception 2', 'exception 2', 'exception 2',
    'exception 1', 'exception 2', 'exception 1', 'exception 1', 'exception 1', null,
  ]);
  t.match(sim.stats(), { responses: 1, otherUnit: 1, crcErrors: 0, malformed: 0 });
  t.equal(frames.length, 0, 'nothing else on the line');
});
