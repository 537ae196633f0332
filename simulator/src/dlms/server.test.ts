// The simulated DLMS/COSEM meter on its own (no agent code): its HDLC codec against every captured frame,
// the captured Gurux client's SNRM/AARQ/DISC replayed over a real pty, link rules (DM, bad FCS, segmented
// answers polled with RR), HLS-GMAC pass 3 with the Green Book vector, and hostile bytes.
import t from 'tap';
import fc from 'fast-check';
import { fuzzParams } from '@meterseal/protocol';
import { readFileSync } from 'node:fs';
import { createPtyPair, socatAvailable } from '../pty.js';
import { ByteCollector, closeSerial, openSerialClient, silentLog } from '../test-helpers.js';
import { SimulatorError } from '../errors.js';
import { gmacF, parseAarq, parseRequest } from './apdu.js';
import { decodeVal } from './axdr.js';
import { FLAG, clientWire, encodeFrame, parseFrame, serverWire, type Frame } from './hdlc.js';
import { startDlmsSimulator } from './server.js';
import type { DlmsSimulatorConfigInput } from './config.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
type Session = { frames: { dir: string; hex: string; fcs_ok: boolean }[] };
const captured = JSON.parse(readFileSync(new URL('../../test-vectors/dlms/hdlc_sessions_captured.json', import.meta.url), 'utf8')) as Record<string, Session>;
const sessions = Object.entries(captured).filter(([k]) => !k.startsWith('_')) as [string, Session][];
const FIXED = Date.UTC(2026, 10, 21, 12, 0, 0);

t.test('the HDLC codec parses every captured frame and re-encodes it byte for byte', async (t) => {
  let n = 0;
  for (const [, s] of sessions) {
    for (const f of s.frames) {
      const bytes = hex(f.hex);
      if (!f.fcs_ok) {
        t.throws(() => parseFrame(bytes), { code: 'HDLC' });
        continue;
      }
      t.equal(toHex(encodeFrame(parseFrame(bytes))), f.hex, `frame ${n++}`);
    }
  }
  t.ok(n > 40, `${n} frames`);
});

t.test('Green Book HLS-GMAC example: f(StoC)', async (t) => {
  t.equal(toHex(gmacF(hex('503677524A323146'), hex('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF'), hex('000102030405060708090A0B0C0D0E0F'), hex('4D4D4D0000000001'), 1)), '10000000011a52fe7dd3e72748973c1e28');
});

t.test('hostile bytes into the simulator parsers give a value or a SimulatorError', async () => {
  const clientFrames = sessions.flatMap(([, s]) => s.frames.map((f) => hex(f.hex)));
  const apdus = clientFrames.map((b) => b.subarray(12, -3));
  const hostile = fc.oneof(
    fc.uint8Array({ maxLength: 120 }),
    fc.tuple(fc.constantFrom(...clientFrames, ...apdus), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([w, at, x]) => {
      const b = w.slice();
      if (b.length) b[at % b.length]! ^= x;
      return b;
    }),
    fc.tuple(fc.constantFrom(...clientFrames, ...apdus), fc.nat()).map(([w, n]) => w.subarray(0, n % (w.length + 1))),
  );
  fc.assert(fc.property(hostile, (b) => {
    for (const parse of [parseFrame, parseAarq, parseRequest, (x: Uint8Array) => decodeVal(x)]) {
      try {
        parse(b);
      } catch (err) {
        if (!(err instanceof SimulatorError)) throw err;
      }
    }
  }), fuzzParams(3000));
});

// ---- over a real pty --------------------------------------------------------------------------------------

const hasSocat = await socatAvailable();
const pty = hasSocat ? {} : { skip: 'socat is not installed: pty tests need a real pty pair' };

interface HasTeardown {
  teardown(fn: () => unknown): void;
}

async function rig(t: HasTeardown, config: DlmsSimulatorConfigInput) {
  const pair = await createPtyPair();
  t.teardown(() => pair.close());
  const sim = await startDlmsSimulator({ path: pair.a, ...config }, { log: silentLog(), clock: () => FIXED });
  t.teardown(() => sim.close());
  const port = await openSerialClient(pair.b);
  t.teardown(() => closeSerial(port));
  const rx = new ByteCollector(port);
  /** Sends one frame and takes the next frame off the line. */
  const ask = async (frame: Uint8Array): Promise<Frame> => {
    port.write(Buffer.from(frame));
    let b = await rx.take(1);
    while (b[0] !== FLAG) b = await rx.take(1);
    const head = await rx.take(2);
    const rest = await rx.take((((head[0]! & 7) << 8) | head[1]!) - 1);
    return parseFrame(Uint8Array.from([FLAG, ...head, ...rest]));
  };
  return { sim, ask, rx, write: (b: Uint8Array) => port.write(Buffer.from(b)) };
}

t.test('the captured Gurux client (SAP 17, LLS "Gurux") associates with the simulated meter and disconnects', pty, async (t) => {
  const client = captured['gurux-python-client_to_gurux-c-simple-server_pty_auth-low']!.frames.filter((f) => f.dir === 'client->server').map((f) => hex(f.hex));
  const { sim, ask } = await rig(t, { auth: 'lls', password: 'Gurux' });
  const ua = await ask(client[0]!);
  t.equal(ua.control, 0x73, 'SNRM → UA');
  t.equal(toHex(ua.destination), '23', 'to client SAP 17');
  t.equal(toHex(ua.info.subarray(0, 3)), '818012', 'with the parameter negotiation field');
  const aare = await ask(client[1]!);
  t.equal(aare.control & 0x11, 0x10, 'an I frame with F=1');
  t.equal(toHex(aare.info.subarray(0, 4)), 'e6e70061', 'LLC response + AARE');
  t.match(toHex(aare.info), /a203020100/, 'result accepted');
  const disc = await ask(client.at(-1)!);
  t.equal(disc.control, 0x73, 'DISC → UA');
  t.same([sim.stats().associations, sim.stats().disconnects], [1, 1]);
});

t.test('the captured wrong-password session is refused: authentication-failure', pty, async (t) => {
  const client = captured['gurux-python-client_to_gurux-c-simple-server_auth-low-wrong-password']!.frames.filter((f) => f.dir === 'client->server').map((f) => hex(f.hex));
  const { sim, ask } = await rig(t, { auth: 'lls', password: 'Gurux' });
  await ask(client[0]!);
  const aare = await ask(client[1]!);
  t.match(toHex(aare.info), /a203020101/, 'rejected-permanent');
  t.match(toHex(aare.info), /a305a10302010d/, 'acse-service-user authentication-failure (13)');
  t.equal(sim.stats().authFailures, 1);
});

t.test('link rules: DM without a link, bad FCS ignored, long answers segmented and polled with RR', pty, async (t) => {
  const { sim, ask, write } = await rig(t, { auth: 'none', maxInfoLength: 32 });
  const C = clientWire(16);
  const S = serverWire(1, 0, 1);
  const frame = (control: number, info: Uint8Array = new Uint8Array(0), segmented = false) => encodeFrame({ destination: S, source: C, control, info, segmented });
  t.equal((await ask(frame(0x10))).control, 0x1f, 'I frame before SNRM → DM');
  const bad = frame(0x93);
  bad[bad.length - 2]! ^= 0xff;
  write(bad); // dropped: no answer
  const ua = await ask(frame(0x93));
  t.equal(ua.control, 0x73, 'the next good SNRM gets UA');
  t.equal(sim.stats().droppedFrames, 1);
  // AARQ of the captured auth-none session (LLC included), then GET capture_objects of the load profile.
  const aarqInfo = parseFrame(hex(captured['gurux-python-client_to_gurux-c-simple-server_pty_auth-none']!.frames[2]!.hex)).info;
  let answer = await ask(frame(0x10, aarqInfo.subarray(0, 32), true)); // segmented request: RR
  t.equal(answer.control & 0x0f, 0x01, 'segment acknowledged with RR');
  let segments: Frame[] = [];
  for (let off = 32, ns = 1; off < aarqInfo.length; off += 32, ns++) {
    const last = off + 32 >= aarqInfo.length;
    answer = await ask(frame((0 << 5) | 0x10 | (ns << 1), aarqInfo.subarray(off, off + 32), !last));
  }
  segments = [answer];
  let vr = 1;
  while (segments.at(-1)!.segmented) segments.push(await ask(frame((vr++ << 5) | 0x11)));
  const aare = Uint8Array.from(segments.flatMap((f) => [...f.info]));
  t.ok(segments.length > 1, `AARE in ${segments.length} segments of at most 32 bytes`);
  t.ok(segments.every((f) => f.info.length <= 32));
  t.match(toHex(aare), /^e6e70061.*a203020100/, 'AARE accepted');
});
