import t from 'tap';
import fc from 'fast-check';
import { fuzzParams } from '@meterseal/protocol';
import { serverAddress, clientAddress } from './address.js';
import { DlmsError } from './errors.js';
import { putFcs } from './fcs.js';
import { encodeFrame, frameOverhead, parseFrame, type HdlcFrame } from './frame.js';
import { allFrames, hex, notes, sessions, toHex } from './fixtures.js';

const reencode = (f: HdlcFrame) =>
  encodeFrame({ destination: f.destination, source: f.source, control: f.control, segmented: f.format.segmented, information: f.information });

t.test('every captured frame parses and re-encodes byte-identical', async (t) => {
  for (const { bytes, dir } of allFrames) {
    const f = parseFrame(bytes);
    t.equal(toHex(reencode(f)), toHex(bytes));
    const [server, client] = dir === 'client->server' ? [f.destination, f.source] : [f.source, f.destination];
    t.same(server, { size: 1, upper: 1 }, 'server: logical device 1, one byte');
    t.ok(client.size === 1 && (client.upper === 0x10 || client.upper === 0x11), 'client SAP 16 or 17');
    t.equal(f.format.length, bytes.length - 2);
  }
  const unpatched = parseFrame(hex(notes['unpatched_clock_response_frame']!));
  t.equal(unpatched.control.kind, 'I', 'the unpatched-server quirk frame is well-formed HDLC');
});

t.test('captured sessions: SNRM/UA, I frames and RR polls with N(S)/N(R) mod 8, DISC/UA', async (t) => {
  for (const s of sessions) {
    const frames = s.frames.map((f) => parseFrame(f.bytes));
    const kinds = frames.map((f) => f.control.kind);
    t.same(kinds.slice(0, 2), ['SNRM', 'UA'], s.name);
    t.same(kinds.slice(-2), ['DISC', 'UA']);
    t.ok(frames.every((f) => f.control.pf), 'window 1: every frame carries P/F');
    let vsClient = 0;
    let vsServer = 0;
    for (const f of frames) {
      const c = f.control;
      if (c.kind === 'I' && f.source.upper === 1) {
        t.equal(c.ns, vsServer, 'server N(S) in sequence');
        vsServer = (vsServer + 1) % 8;
      } else if (c.kind === 'I') {
        t.equal(c.ns, vsClient, 'client N(S) in sequence');
        vsClient = (vsClient + 1) % 8;
      } else if (c.kind === 'RR') {
        t.equal(c.nr, vsServer, 'client RR acknowledges the last server segment');
      }
    }
    const segmented = frames.filter((f) => f.format.segmented);
    if (s.name.startsWith('gurux-python-client_to_gurux-c-simple-server_pty')) t.ok(segmented.length > 0, 'has segmented answers');
    t.ok(segmented.every((f) => f.control.kind === 'I'), 'only I frames are segmented');
  }
});

t.test('the UA information field is the parameter negotiation field', async (t) => {
  const ua = parseFrame(sessions[0]!.frames[1]!.bytes);
  t.equal(toHex(ua.information!), '818012050180060180070400000001080400000001');
});

t.test('frames without information have no HCS; with information, HCS then info then FCS', async (t) => {
  const a = { destination: serverAddress(1), source: clientAddress(0x10) };
  t.equal(toHex(encodeFrame({ ...a, control: { kind: 'SNRM', pf: true } })), '7ea0070321930f017e');
  t.equal(toHex(encodeFrame({ ...a, control: { kind: 'RR', pf: true, nr: 2 } })), '7ea00703215111e47e');
  t.equal(toHex(encodeFrame({ ...a, control: { kind: 'DISC', pf: true }, information: new Uint8Array(0) })), '7ea00703215303c77e');
  const i = encodeFrame({ ...a, control: { kind: 'I', pf: true, ns: 1, nr: 1 }, information: hex('e6e600c001c1000f0000280000ff0200') });
  t.equal(toHex(i), '7ea0190321326fd8e6e600c001c1000f0000280000ff020091537e', 'captured GET request');
  t.equal(frameOverhead(a.destination, a.source), 9);
});

t.test('typed errors for each kind of bad frame', async (t) => {
  const good = hex('7ea0190321326fd8e6e600c001c1000f0000280000ff020091537e');
  const withFcs = (b: Uint8Array) => (putFcs(b, 1, b.length - 3), b);
  const mut = (i: number, v: number) => {
    const b = good.slice();
    b[i] = v;
    return b;
  };
  t.throws(() => parseFrame(new Uint8Array(0)), { code: 'SHORT' });
  t.throws(() => parseFrame(hex('7ea0077e')), { code: 'SHORT' });
  t.throws(() => parseFrame(mut(0, 0x7f)), { code: 'BAD_FLAG' });
  t.throws(() => parseFrame(mut(good.length - 1, 0)), { code: 'BAD_FLAG' });
  t.throws(() => parseFrame(mut(1, 0xb0)), { code: 'BAD_FORMAT' });
  t.throws(() => parseFrame(mut(2, 0x18)), { code: 'LENGTH' });
  t.throws(() => parseFrame(mut(6, 0x33)), { code: 'HCS' }, 'corrupt header: HCS');
  t.throws(() => parseFrame(mut(11, 0x00)), { code: 'FCS' }, 'corrupt information: FCS');
  t.throws(() => parseFrame(withFcs(hex('7ea007032109 0000 7e'))), { code: 'CONTROL' }, 'REJ is not used');
  t.throws(() => parseFrame(withFcs(hex('7ea00a0321510000 00 00007e'))), { code: 'HCS' });
  const rrInfo = hex('7ea00a032151 0000 aa 0000 7e');
  putFcs(rrInfo, 1, 6);
  putFcs(rrInfo, 1, 9);
  t.throws(() => parseFrame(rrInfo), { code: 'CONTROL' }, 'RR with an information field');
  t.throws(() => parseFrame(withFcs(hex('7ea009020407 21 93 0000 7e'))), { code: 'ADDRESS' }, '3-byte address');
  t.throws(() => parseFrame(withFcs(hex('7ea009020406082193 0000 7e'))), { code: 'LENGTH' }, 'header longer than the frame');
  t.throws(() => parseFrame(hex('7ea00803213300007e'.replace('08', '07'))), DlmsError);
  const emptyInfo = hex('7ea009032110 0000 0000 7e');
  putFcs(emptyInfo, 1, 6);
  putFcs(emptyInfo, 1, 8);
  t.throws(() => parseFrame(emptyInfo), { code: 'LENGTH' }, 'HCS with an empty information field');
  t.throws(() => parseFrame('7e' as unknown as Uint8Array), { code: 'SHORT' });
});

t.test('encodeFrame validates its input', async (t) => {
  const a = { destination: serverAddress(1), source: clientAddress(0x10) };
  t.throws(() => encodeFrame({ ...a, control: { kind: 'I', pf: true, ns: 0, nr: 0 }, information: new Uint8Array(2047) }), { code: 'LENGTH' });
  t.ok(encodeFrame({ ...a, control: { kind: 'I', pf: true, ns: 0, nr: 0 }, information: new Uint8Array(2047 - 9) }));
  t.throws(() => encodeFrame({ ...a, control: { kind: 'RR', pf: true, nr: 0 }, information: Uint8Array.of(1) }), { code: 'CONTROL' });
  t.throws(() => encodeFrame({ ...a, control: { kind: 'I', pf: true, ns: 9, nr: 0 } }), { code: 'CONTROL' });
  t.throws(() => encodeFrame({ ...a, destination: { size: 1, upper: 200 }, control: { kind: 'UA', pf: true } }), { code: 'ADDRESS' });
});

const onlyDlmsErrors = (bytes: Uint8Array) => {
  try {
    parseFrame(bytes);
    return true;
  } catch (err) {
    return err instanceof DlmsError;
  }
};

t.test('property: parseFrame on arbitrary bytes throws only DlmsError', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), onlyDlmsErrors), fuzzParams(2000));
  // Bytes that get past the flag and format checks, to reach the address, HCS, FCS and control code.
  const framed = fc
    .tuple(fc.integer({ min: 0, max: 0xf }), fc.uint8Array({ maxLength: 60 }))
    .map(([f, body]) => Uint8Array.from([0x7e, 0xa0 | (f & 0x8), body.length + 2, ...body, 0x7e]));
  fc.assert(fc.property(framed, onlyDlmsErrors), fuzzParams(2000));
  // Captured frames with random bytes overwritten.
  const mutated = fc
    .tuple(fc.constantFrom(...allFrames.map((f) => f.bytes)), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
    .map(([b, edits]) => {
      const c = b.slice();
      for (const [i, v] of edits) c[i % c.length] = v;
      return c;
    });
  fc.assert(fc.property(mutated, onlyDlmsErrors), fuzzParams(2000));
  t.pass('no other exception escaped');
});

t.test('property: parseFrame(encodeFrame(x)) gives x back', async (t) => {
  const addr = fc.oneof(
    fc.integer({ min: 0, max: 0x7f }).map((upper) => ({ size: 1 as const, upper })),
    fc.tuple(fc.integer({ min: 0, max: 0x3fff }), fc.integer({ min: 0, max: 0x3fff })).map(([upper, lower]) => ({ size: 4 as const, upper, lower })),
  );
  const control = fc.oneof(
    fc.record({ kind: fc.constant('I' as const), pf: fc.boolean(), ns: fc.integer({ min: 0, max: 7 }), nr: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constantFrom('SNRM' as const, 'UA' as const, 'UI' as const, 'DM' as const, 'FRMR' as const, 'DISC' as const), pf: fc.boolean() }),
  );
  fc.assert(
    fc.property(addr, addr, control, fc.boolean(), fc.uint8Array({ minLength: 1, maxLength: 400 }), (d, s, c, seg, info) => {
      const bytes = encodeFrame({ destination: d, source: s, control: c, segmented: seg, information: info });
      const f = parseFrame(bytes);
      return (
        JSON.stringify([f.destination, f.source, f.control, f.format.segmented]) === JSON.stringify([d, s, c, seg]) &&
        toHex(f.information!) === toHex(info) &&
        toHex(reencode(f)) === toHex(bytes)
      );
    }),
  );
  t.pass('round trip held');
});
