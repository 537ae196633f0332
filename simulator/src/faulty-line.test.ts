import t from 'tap';
import { Duplex } from 'node:stream';
import { FaultyLine, driftingClock, lineBitsPerChar } from './faulty-line.js';

/** A fake transport: `request()` delivers bytes as if from the master; everything written is collected with its time. */
function fakeTransport(): { inner: Duplex; sent: Array<{ at: number; bytes: Buffer }>; request(b: Uint8Array): void } {
  const sent: Array<{ at: number; bytes: Buffer }> = [];
  const inner = new Duplex({
    read() {},
    write(chunk: Buffer, _e, cb) {
      sent.push({ at: performance.now(), bytes: Buffer.from(chunk) });
      cb();
    },
  });
  return { inner, sent, request: (b) => inner.push(Buffer.from(b)) };
}

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
};

t.test('bits per character: 10 for 8N1, 11 for 8E1 (Modbus over Serial Line V1.02 §2.5.1)', async (t) => {
  t.equal(lineBitsPerChar('none'), 10);
  t.equal(lineBitsPerChar('even'), 11);
  t.equal(lineBitsPerChar('none', 2), 11);
});

t.test('requests pass through; without faults an answer goes out unchanged', async (t) => {
  const { inner, sent, request } = fakeTransport();
  const line = new FaultyLine(inner, { baudRate: 9600 });
  t.teardown(() => line.destroy());
  const got: Buffer[] = [];
  line.on('data', (c: Buffer) => got.push(c));
  request(Uint8Array.of(1, 3, 0, 0, 0, 2, 0xc4, 0x0b));
  await until(() => got.length === 1);
  t.same([...got[0]!], [1, 3, 0, 0, 0, 2, 0xc4, 0x0b]);
  line.write(Buffer.from([1, 3, 4, 1, 2, 3, 4, 0xaa, 0xbb]));
  await until(() => sent.length === 1);
  t.same([...sent[0]!.bytes], [1, 3, 4, 1, 2, 3, 4, 0xaa, 0xbb]);
  t.match(line.stats(), { answers: 1, dropped: 0, corrupted: 0 });
});

t.test('paced at 1200 bd 8N1: an answer leaves no sooner than request + t3.5 + answer would take on the wire', async (t) => {
  const { inner, sent, request } = fakeTransport();
  const line = new FaultyLine(inner, { baudRate: 1200, pace: true, bitsPerChar: 10 });
  t.teardown(() => line.destroy());
  let got = 0;
  line.on('data', (c: Buffer) => (got += c.length));
  const t0 = performance.now();
  request(new Uint8Array(8));
  await until(() => got === 8); // the server answers once the request is in
  line.write(Buffer.alloc(9));
  await until(() => sent.length === 1);
  const minMs = ((8 + 3.5 + 9) * 10 * 1000) / 1200; // 170.8 ms
  t.ok(sent[0]!.at - t0 >= minMs - 1, `took ${(sent[0]!.at - t0).toFixed(1)} ms, line needs ${minMs.toFixed(1)} ms`);
});

t.test('dropRate 1 drops every answer; corruptRate 1 flips the chosen checksum byte', async (t) => {
  const a = fakeTransport();
  const drop = new FaultyLine(a.inner, { baudRate: 9600, faults: { dropRate: 1 } });
  t.teardown(() => drop.destroy());
  for (let i = 0; i < 5; i++) drop.write(Buffer.from([1, 2, 3]));
  await new Promise((r) => setTimeout(r, 30));
  t.equal(a.sent.length, 0);
  t.equal(drop.stats().dropped, 5);

  const b = fakeTransport();
  const corrupt = new FaultyLine(b.inner, { baudRate: 9600, faults: { corruptRate: 1 }, checksumIndex: (f) => f.length - 2 });
  t.teardown(() => corrupt.destroy());
  corrupt.write(Buffer.from([0x68, 0x11, 0x22, 0x16]));
  await until(() => b.sent.length === 1);
  t.same([...b.sent[0]!.bytes], [0x68, 0x11, 0x22 ^ 0x5a, 0x16], 'only the CS byte changed');
  t.equal(corrupt.stats().corrupted, 1);
});

t.test('rebootEveryRequests: after N answers the meter reboots (event) and stays silent for the downtime', async (t) => {
  const { inner, sent } = fakeTransport();
  const line = new FaultyLine(inner, { baudRate: 9600, faults: { rebootEveryRequests: 3, rebootDowntimeMs: 60_000 } });
  t.teardown(() => line.destroy());
  let reboots = 0;
  line.on('reboot', () => reboots++);
  for (let i = 0; i < 6; i++) line.write(Buffer.from([i]));
  await until(() => sent.length === 3);
  await new Promise((r) => setTimeout(r, 20));
  t.same(sent.map((s) => s.bytes[0]), [0, 1, 2], 'the third answer is the last before the reboot');
  t.equal(reboots, 1);
  t.equal(line.stats().mutedDuringReboot, 3);
  t.equal(line.rebooting, true);
});

t.test('driftingClock runs fast by the given ppm', async (t) => {
  let now = 1_000_000;
  const clock = driftingClock(() => now, 100); // +100 ppm
  now += 3_600_000; // one hour later
  t.equal(clock() - 1_000_000, 3_600_360, '+360 ms per hour');
  t.equal(driftingClock(() => now, 0)(), now);
});
