import t from 'tap';
import { readFileSync } from 'node:fs';
import { checksum, controlFields, decodeAddress, encodeAddress, encodeFrame, parseFrame } from './frame.js';
import { decodeBcd } from './bcd.js';
import { findIdentifier, decodeIdentifierValue } from './identifiers.js';
import { parseReadAddressAnswer, parseReadDataAnswer, readAddressRequest, readDataRequest, decodeDi } from './messages.js';
import { Dlt645Error } from './errors.js';

interface Decoded {
  preamble_fe: number;
  addr_wire: string;
  ctrl: string;
  len: number;
  data_minus_0x33: string;
  cs_ok: boolean;
}
interface Capture {
  description: string;
  server_setup: Record<string, string>;
  exchanges: Array<{ master_to_slave: string; decoded_request: Decoded; slave_to_master: string; decoded_response: Decoded }>;
}
const vectors = JSON.parse(
  readFileSync(new URL('../../test-vectors/dlt645/dlt645_2007_frames_captured.json', import.meta.url), 'utf8'),
) as Capture;
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
// The slave was given "123456781012" and wrote it in wire order (A0 first): the nameplate spelling is reversed.
const METER = '121078563412';

/** "12345.67 kWh (…)" at `decimals` places → 1234567n; exact, no floats. */
function scaled(text: string, decimals: number): bigint {
  const m = /^(\d+)(?:\.(\d+))?/.exec(text)!;
  const frac = (m[2] ?? '').padEnd(decimals, '0');
  if (frac.length !== decimals) throw new Error(`${text} has more than ${decimals} decimals`);
  return BigInt(m[1]! + frac);
}

t.test('every captured frame parses, with the recorded fields and checksum', async (t) => {
  t.equal(vectors.exchanges.length, 5);
  for (const ex of vectors.exchanges) {
    for (const [wire, d] of [
      [ex.master_to_slave, ex.decoded_request],
      [ex.slave_to_master, ex.decoded_response],
    ] as const) {
      const bytes = hex(wire);
      const frame = parseFrame(bytes);
      t.equal(toHex(encodeAddress(frame.address)), d.addr_wire, `${wire}: address in wire order`);
      t.equal(frame.control, Number.parseInt(d.ctrl, 16), `${wire}: control`);
      t.equal(frame.data.length, d.len, `${wire}: L`);
      t.equal(toHex(frame.data), d.data_minus_0x33, `${wire}: data after −33H`);
      const start = d.preamble_fe;
      t.equal(checksum(bytes, start, bytes.length - 2), bytes[bytes.length - 2], `${wire}: CS recomputed`);
      t.ok(d.cs_ok);
      t.equal(toHex(encodeFrame(frame, { preamble: d.preamble_fe })), wire, `${wire}: re-encodes byte for byte`);
    }
  }
});

t.test('requests encode byte-identical to the captured master frames', async (t) => {
  const [readAddr, ...reads] = vectors.exchanges;
  t.equal(toHex(encodeFrame(readAddressRequest())), readAddr!.master_to_slave, 'read address to AA..AA');
  for (const ex of reads) {
    const di = decodeDi(hex(ex.decoded_request.data_minus_0x33));
    t.equal(toHex(encodeFrame(readDataRequest(METER, di))), ex.master_to_slave, `read DI ${di}`);
  }
});

t.test('responses decode to the values the slave was set up with', async (t) => {
  t.equal(parseReadAddressAnswer(parseFrame(hex(vectors.exchanges[0]!.slave_to_master))), METER, 'read address answer');
  const setup = Object.entries(vectors.server_setup).filter(([k]) => /^[0-9A-F]{8} /.test(k));
  t.equal(setup.length, 4);
  for (const [key, text] of setup) {
    const di = key.slice(0, 8);
    const ex = vectors.exchanges.find((e) => e.decoded_request.len === 4 && decodeDi(hex(e.decoded_request.data_minus_0x33)) === di)!;
    const answer = parseReadDataAnswer(parseFrame(hex(ex.slave_to_master)));
    t.equal(answer.di, di, `${di}: the answer names the DI asked`);
    const def = findIdentifier(di)!;
    t.equal(decodeBcd(answer.value, { signed: def.signed }), scaled(text, def.decimals), `${di} ${def.name}: ${text}`);
  }
  const energy = decodeIdentifierValue(findIdentifier('00000000')!, parseReadDataAnswer(parseFrame(hex(vectors.exchanges[1]!.slave_to_master))).value);
  t.same(energy, { value: 12_345_670n, scaler: 0, unit: 'Wh' }, '12345.67 kWh = 12345670 Wh, exactly');
});

t.test('addresses: nameplate order in the API, A0 first on the wire, AA wildcards', async (t) => {
  t.equal(toHex(encodeAddress('000012345678')), '785634120000');
  t.equal(decodeAddress(hex('785634120000')), '000012345678');
  t.equal(decodeAddress(hex('aaaaaaaaaaaa')), 'AAAAAAAAAAAA');
  t.equal(toHex(encodeAddress('999999999999')), '999999999999');
  for (const bad of ['12345678901', '1234567890123', '12345678901a', 'aaaaaaaaaaaa', '12A456789012']) {
    t.throws(() => encodeAddress(bad), { code: 'BCD' }, bad);
  }
  t.throws(() => decodeAddress(hex('7856341200ab')), { code: 'BCD', message: /A5/ });
});

t.test('each malformation has its own code', async (t) => {
  const good = hex(vectors.exchanges[1]!.slave_to_master); // fefefefe 68 … 16, L = 8
  const mutate = (f: (b: Uint8Array) => Uint8Array): Uint8Array => f(good.slice());
  const cases: Array<[string, Uint8Array, string]> = [
    ['empty', new Uint8Array(0), 'SHORT_FRAME'],
    ['only a preamble', hex('fefefefe'), 'SHORT_FRAME'],
    ['truncated', good.subarray(0, good.length - 1), 'SHORT_FRAME'],
    ['first start', mutate((b) => ((b[4] = 0x69), b)), 'BAD_START'],
    ['second start', mutate((b) => ((b[11] = 0x00), b)), 'BAD_START'],
    ['L above 200', mutate((b) => ((b[13] = 201), b)), 'LENGTH'],
    ['trailing byte', Uint8Array.from([...good, 0x00]), 'LENGTH'],
    ['end character', mutate((b) => ((b[b.length - 1] = 0x17), b)), 'BAD_END'],
    ['checksum', mutate((b) => ((b[b.length - 2]! ^= 0x01), b)), 'CHECKSUM'],
    ['data byte flipped', mutate((b) => ((b[16]! ^= 0x10), b)), 'CHECKSUM'],
  ];
  for (const [name, bytes, code] of cases) t.throws(() => parseFrame(bytes), { name: 'Dlt645Error', code }, name);
  // A non-BCD address byte with a valid checksum: the address check comes last.
  const addr = good.slice(4);
  addr[1] = 0x1f;
  addr[addr.length - 2] = checksum(addr, 0, addr.length - 2);
  t.throws(() => parseFrame(addr), { code: 'BCD' }, 'address byte 0x1f');
});

t.test('control codes and abnormal answers (§5.2.3, §7.1)', async (t) => {
  t.same(controlFields(0x11), { response: false, abnormal: false, followUp: false, func: 0x11 });
  t.same(controlFields(0x91), { response: true, abnormal: false, followUp: false, func: 0x11 });
  t.same(controlFields(0xb1), { response: true, abnormal: false, followUp: true, func: 0x11 });
  t.same(controlFields(0xd1), { response: true, abnormal: true, followUp: false, func: 0x11 });

  const err02 = parseFrame(encodeFrame({ address: METER, control: 0xd1, data: Uint8Array.of(0x02) }));
  const e = (() => {
    try {
      parseReadDataAnswer(err02);
    } catch (x) {
      return x;
    }
  })();
  t.ok(e instanceof Dlt645Error);
  t.match(e, { code: 'METER_ERROR', errorWord: 0x02, errorFlags: ['no data requested'], message: /no data requested/ });
  const err04 = parseFrame(encodeFrame({ address: METER, control: 0xd1, data: Uint8Array.of(0x04) }));
  t.throws(() => parseReadDataAnswer(err04), { code: 'METER_ERROR', errorWord: 4, message: /password/ });
  const follow = parseFrame(encodeFrame({ address: METER, control: 0xb1, data: hex('00000000 67452301') }));
  t.throws(() => parseReadDataAnswer(follow), { code: 'PROTOCOL', message: /follow-up/ });
  t.throws(() => parseReadDataAnswer(parseFrame(encodeFrame(readDataRequest(METER, '00010000')))), { code: 'PROTOCOL' }, 'a request is not an answer');
  t.throws(() => encodeFrame({ address: METER, control: 0x11, data: new Uint8Array(201) }), { code: 'LENGTH' });
  t.throws(() => readDataRequest(METER, '0001000'), { code: 'PROTOCOL' });
});
