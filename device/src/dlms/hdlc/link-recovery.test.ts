import t from 'tap';
import { clientAddress, serverAddress } from './address.js';
import type { ControlKind } from './control.js';
import { DlmsError } from './errors.js';
import { putFcs } from './fcs.js';
import { encodeFrame, parseFrame } from './frame.js';
import { hex } from './fixtures.js';
import { HdlcLink, type HdlcTransport } from './link.js';
import { MiniServer, wire } from './mock-server.js';

const fast = { client: 0x10, server: serverAddress(1), timeoutMs: 25, retries: 3 };
const echo = (r: Uint8Array) => Uint8Array.from([0xaa, ...r]);
const kinds = (written: Uint8Array[]): ControlKind[] => written.map((b) => parseFrame(b).control.kind);

t.test('a lost SNRM is sent again after the time-out', async (t) => {
  const server = new MiniServer({ answer: echo, loseRequest: (_f, n) => n === 0 });
  const { transport, written } = wire(server.handle);
  const link = new HdlcLink(transport, fast);
  await link.connect();
  t.same(kinds(written), ['SNRM', 'SNRM']);
});

t.test('a lost I frame: the client polls with RR, the server answers RR N(R)=V(S), the client repeats the frame', async (t) => {
  const server = new MiniServer({ answer: echo, loseRequest: (f, n) => f.control.kind === 'I' && n === 1 });
  const { transport, written } = wire(server.handle);
  const link = new HdlcLink(transport, fast);
  await link.connect();
  t.same(Array.from(await link.send(Uint8Array.of(1, 2))), [0xaa, 1, 2]);
  t.same(kinds(written), ['SNRM', 'I', 'RR', 'I']);
  t.equal(toNs(written[3]!), toNs(written[1]!), 'same N(S) again');
  t.equal(server.sequenceErrors, 0);
});

t.test('a lost answer (and a lost answer segment): the RR poll makes the server repeat it', async (t) => {
  const long = (r: Uint8Array) => new Uint8Array(300).fill(r[0]!);
  const server = new MiniServer({ answer: long, loseAnswer: (n) => n === 1 || n === 3 });
  const { transport, written } = wire(server.handle);
  const link = new HdlcLink(transport, fast);
  await link.connect();
  t.same(Array.from(await link.send(Uint8Array.of(7))), Array.from(long(Uint8Array.of(7))));
  t.same(Array.from(await link.send(Uint8Array.of(8))), Array.from(long(Uint8Array.of(8))), 'the link stays in step');
  t.same(kinds(written).slice(0, 6), ['SNRM', 'I', 'RR', 'RR', 'RR', 'RR']);
});

t.test('a silent server: TIMEOUT after 1 + retries attempts', async (t) => {
  const { transport, written } = wire(() => []);
  const link = new HdlcLink(transport, fast);
  await t.rejects(link.connect(), { name: 'DlmsError', code: 'TIMEOUT' });
  t.equal(written.length, 4);
  t.equal(link.state, 'disconnected');
});

t.test('DM to SNRM is REFUSED; FRMR or DM during a send is REFUSED and drops the link', async (t) => {
  const a = { destination: clientAddress(0x10), source: serverAddress(1) };
  const dm = encodeFrame({ ...a, control: { kind: 'DM', pf: true } });
  await t.rejects(new HdlcLink(wire(() => [dm]).transport, fast).connect(), { code: 'REFUSED' });

  const frmr = encodeFrame({ ...a, control: { kind: 'FRMR', pf: true }, information: hex('100000') });
  const server = new MiniServer({ answer: echo });
  const link = new HdlcLink(wire((r) => (r.frame.control.kind === 'I' ? [frmr] : server.handle(r))).transport, fast);
  await link.connect();
  await t.rejects(link.send(Uint8Array.of(1)), { code: 'REFUSED' });
  t.equal(link.state, 'disconnected');
  await t.rejects(link.send(Uint8Array.of(1)), { code: 'STATE' }, 'a new connect() is needed');
  await link.connect();
  t.equal(link.state, 'connected', 'and connect() brings it back');
  await link.disconnect();
  t.equal(link.state, 'disconnected');
});

t.test('garbage before, between and after the answers does not disturb the link', async (t) => {
  const server = new MiniServer({ answer: (r) => new Uint8Array(200).fill(r[0]!) });
  // A false header that passes its HCS and announces 2047 bytes: only the time-out's resync gets past it.
  const fake = hex('7ea7ff 2103 10 0000');
  putFcs(fake, 1, 6);
  let n = 0;
  const noisy = wire((r) => {
    const out = server.handle(r);
    n++;
    return n === 2 ? [fake, ...out, hex('7ea8')] : [hex('00ff7e7e55'), ...out, hex('7ea8')];
  }, 5);
  const link = new HdlcLink(noisy.transport, fast);
  await link.connect();
  for (let i = 0; i < 3; i++) t.same(Array.from(await link.send(Uint8Array.of(i))), Array.from(new Uint8Array(200).fill(i)));
  await link.disconnect();
  t.ok(link.stats.droppedBytes > 0, `dropped ${link.stats.droppedBytes} bytes of garbage`);
  t.equal(server.sequenceErrors, 0);
});

t.test('frames for another client or from another server are ignored', async (t) => {
  const server = new MiniServer({ answer: echo });
  const stray = encodeFrame({ destination: clientAddress(0x11), source: serverAddress(1), control: { kind: 'UA', pf: true } });
  const other = encodeFrame({ destination: clientAddress(0x10), source: serverAddress(2), control: { kind: 'DM', pf: true } });
  const link = new HdlcLink(wire((r) => [stray, other, ...server.handle(r)]).transport, fast);
  await link.connect();
  t.same(Array.from(await link.send(Uint8Array.of(5))), [0xaa, 5]);
  t.equal(link.stats.ignored, 4);
});

t.test('misuse: send before connect, empty send, close while waiting, calls after close, bad options', async (t) => {
  const { transport } = wire(() => []);
  const link = new HdlcLink(transport, fast);
  await t.rejects(link.send(Uint8Array.of(1)), { code: 'STATE' });
  const pending = link.connect();
  link.close();
  await t.rejects(pending, { code: 'STATE' });
  await t.rejects(link.connect(), { code: 'STATE' });
  await t.rejects(link.disconnect(), { code: 'STATE' });
  t.equal(link.state, 'closed');
  link.close();

  const server = new MiniServer({ answer: echo });
  const ok = new HdlcLink(wire(server.handle).transport, fast);
  await ok.connect();
  await t.rejects(ok.send(new Uint8Array(0)), { code: 'LENGTH' });
  t.throws(() => new HdlcLink(transport, { ...fast, client: 0 }), { code: 'ADDRESS' });
  t.throws(() => new HdlcLink(transport, { ...fast, client: serverAddress(1, 2) }), { code: 'ADDRESS' });
  t.throws(() => new HdlcLink(transport, { ...fast, maxInfoTx: 5000 }), { code: 'PARAMETER' });

  const broken: HdlcTransport = { write: () => { throw new Error('port closed'); }, onData: () => undefined };
  const e = await new HdlcLink(broken, fast).connect().catch((err: unknown) => err);
  t.ok(e instanceof DlmsError && e.code === 'STATE' && (e.cause as Error).message === 'port closed', 'write failure keeps its cause');
});

function toNs(bytes: Uint8Array): number {
  const c = parseFrame(bytes).control;
  return c.kind === 'I' ? c.ns : -1;
}
