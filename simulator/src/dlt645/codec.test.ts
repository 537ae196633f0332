import t from 'tap';
import { dlt645AddressToWire, dlt645Bcd, dlt645DiFromData, dlt645DiToData, encodeDlt645Frame, parseDlt645Frame } from './codec.js';
import { Dlt645RequestFramer } from './framer.js';
import { tariffAt } from './registers.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// Frames captured between 600888/dlt645's master and slave (device/test-vectors/dlt645): facts, not code.
// The slave's address was written in wire order 12 34 56 78 10 12, i.e. nameplate 121078563412.
const CAPTURED: Array<{ request: string; answer: string; di: string; value: bigint; length: number; signed: boolean }> = [
  { request: 'fefefefe6812345678101268110433333333e716', answer: 'fefefefe68123456781012689108333333339a7856340716', di: '00000000', value: 1234567n, length: 4, signed: true },
  { request: 'fefefefe6812345678101268110433333433e816', answer: 'fefefefe68123456781012689108333334339a7856330716', di: '00010000', value: 234567n, length: 4, signed: false },
  { request: 'fefefefe6812345678101268110433343435eb16', answer: 'fefefefe68123456781012689106333434353456f716', di: '02010100', value: 2301n, length: 2, signed: false },
  { request: 'fefefefe6812345678101268110433343535ec16', answer: 'fefefefe6812345678101268910733343535838533aa16', di: '02020100', value: 5250n, length: 3, signed: true },
];
const OWN = dlt645AddressToWire('121078563412');

t.test('the captured requests parse to the DI asked; the answers encode byte for byte', async (t) => {
  t.equal(toHex(OWN), '123456781012');
  for (const c of CAPTURED) {
    const [req] = new Dlt645RequestFramer().push(hex(c.request));
    t.ok(req, `${c.di}: request found`);
    t.equal(toHex(req!.addressWire), toHex(OWN));
    t.equal(req!.control, 0x11);
    t.equal(dlt645DiFromData(req!.data), c.di);
    const data = Uint8Array.from([...dlt645DiToData(c.di), ...dlt645Bcd(c.value, c.length, c.signed)]);
    t.equal(toHex(encodeDlt645Frame({ addressWire: OWN, control: 0x91, data })), c.answer, `${c.di}: answer`);
  }
  const readAddress = new Dlt645RequestFramer().push(hex('fefefefe68aaaaaaaaaaaa681300df16'));
  t.same(readAddress.map((f) => [toHex(f.addressWire), f.control, f.data.length]), [['aaaaaaaaaaaa', 0x13, 0]]);
  t.equal(toHex(encodeDlt645Frame({ addressWire: OWN, control: 0x93, data: OWN })), 'fefefefe68123456781012689306456789ab43450716');
});

t.test('BCD: sign bit, saturation, no preamble', async (t) => {
  t.equal(toHex(dlt645Bcd(-5250n, 3, true)), '505280');
  t.equal(toHex(dlt645Bcd(10n ** 9n, 4, false)), '99999999', 'saturates like a display');
  t.equal(toHex(dlt645Bcd(10n ** 9n, 4, true)), '99999979');
  t.equal(toHex(dlt645Bcd(-3n, 2, false)), '0000', 'an unsigned register never shows a negative');
  const f = encodeDlt645Frame({ addressWire: OWN, control: 0x91, data: new Uint8Array(0) }, 0);
  t.equal(f[0], 0x68);
  t.same(parseDlt645Frame(f).data, new Uint8Array(0));
});

t.test('malformed requests are refused with SimulatorError codes', async (t) => {
  const good = hex('6812345678101268110433333333e716');
  const bad = (f: (b: Uint8Array) => void): Uint8Array => {
    const b = good.slice();
    f(b);
    return b;
  };
  t.throws(() => parseDlt645Frame(good.subarray(0, 11)), { code: 'DLT645_SHORT_FRAME' });
  t.throws(() => parseDlt645Frame(bad((b) => (b[7] = 0))), { code: 'DLT645_BAD_START' });
  t.throws(() => parseDlt645Frame(bad((b) => (b[9] = 5))), { code: 'DLT645_LENGTH' });
  t.throws(() => parseDlt645Frame(bad((b) => (b[15] = 0x17))), { code: 'DLT645_BAD_END' });
  t.throws(() => parseDlt645Frame(bad((b) => (b[14]! ^= 1))), { code: 'DLT645_CHECKSUM' });
  t.throws(() => dlt645AddressToWire('12345'), { code: 'CONFIG_INVALID' });
});

t.test('the request framer skips wake-up bytes and noise, resyncs after a bad checksum, reassembles chunks', async (t) => {
  const f = new Dlt645RequestFramer();
  const bad = hex(CAPTURED[0]!.request);
  bad[bad.length - 2]! ^= 0xff;
  const stream = Uint8Array.from([0x00, 0x13, ...bad, 0x55, ...hex(CAPTURED[2]!.request)]);
  const out = [];
  for (let i = 0; i < stream.length; i += 3) out.push(...f.push(stream.subarray(i, i + 3)));
  t.same(out.map((r) => dlt645DiFromData(r.data)), ['02010100']);
  t.equal(f.checksumErrors, 1);
  t.ok(f.discardedBytes >= 3, 'noise counted');
});

t.test('time-of-use tariffs over a UTC day', async (t) => {
  const at = (h: number): number => tariffAt(Date.UTC(2025, 0, 1, h, 30));
  t.same([0, 6, 7, 8, 11, 17, 19, 20, 21, 23].map(at), [4, 4, 3, 2, 3, 2, 1, 1, 2, 4]);
});
