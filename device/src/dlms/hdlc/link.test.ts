import t from 'tap';
import { serverAddress } from './address.js';
import { parseFrame, type HdlcFrame } from './frame.js';
import { sessions, toHex } from './fixtures.js';
import { HdlcLink } from './link.js';
import { MiniServer, wire } from './mock-server.js';

const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));

/** The requests a captured client made and the answers it reassembled, from the frames alone. */
function exchanges(frames: { dir: string; frame: HdlcFrame }[]) {
  const out: { request: Uint8Array; answer: Uint8Array }[] = [];
  let request: Uint8Array[] = [];
  let answer: Uint8Array[] = [];
  for (const { dir, frame } of frames) {
    if (frame.control.kind !== 'I') continue;
    if (dir === 'client->server') request.push(frame.information!);
    else {
      answer.push(frame.information!);
      if (!frame.format.segmented) {
        out.push({ request: concat(request), answer: concat(answer) });
        request = [];
        answer = [];
      }
    }
  }
  return out;
}

t.test('replays every captured session: the link writes the captured client frames byte for byte', async (t) => {
  for (const [k, s] of sessions.entries()) {
    const frames = s.frames.map((f) => ({ dir: f.dir, bytes: f.bytes, frame: parseFrame(f.bytes) }));
    let next = 0;
    const mismatches: string[] = [];
    // The scripted server: checks each client frame against the capture and answers with the captured reply.
    const { transport, written } = wire((r) => {
      const expected = frames[next];
      if (!expected || expected.dir !== 'client->server' || toHex(expected.bytes) !== toHex(r.bytes)) {
        mismatches.push(`frame ${next}: got ${toHex(r.bytes)}, captured ${expected ? toHex(expected.bytes) : 'nothing'}`);
        return [];
      }
      next++;
      const replies: Uint8Array[] = [];
      while (frames[next]?.dir === 'server->client') replies.push(frames[next++]!.bytes);
      return replies;
    }, [0, 7, 1, 64][k % 4]);
    const link = new HdlcLink(transport, { client: frames[0]!.frame.source.upper, server: serverAddress(1), retries: 0 });
    t.same(await link.connect(), { maxInfoTx: 128, maxInfoRx: 128, windowTx: 1, windowRx: 1 }, s.name);
    t.equal(link.state, 'connected');
    for (const { request, answer } of exchanges(frames)) {
      t.equal(toHex(await link.send(request)), toHex(answer), `answer of ${toHex(request).slice(0, 24)}…`);
    }
    await link.disconnect();
    t.equal(link.state, 'disconnected');
    t.same(mismatches, []);
    t.equal(next, frames.length, 'the whole capture was played');
    t.same(written.map(toHex), frames.filter((f) => f.dir === 'client->server').map((f) => toHex(f.bytes)));
    t.same(link.stats, { frames: frames.length / 2, badFcs: 0, badHeader: 0, droppedBytes: 0, ignored: 0 });
    link.close();
  }
});

t.test('segmentation both ways: long requests in S-bit I frames, long answers polled with RR, N(S) wrapping mod 8', async (t) => {
  const answer = (req: Uint8Array) => Uint8Array.from({ length: 333 }, (_, i) => (req[i % req.length]! + i) & 0xff);
  const server = new MiniServer({ answer, maxInfoTx: 50, maxInfoRx: 40 });
  const { transport, written } = wire(server.handle, 13);
  const link = new HdlcLink(transport, { client: 0x10, server: serverAddress(1), maxInfoTx: 64, maxInfoRx: 512 });
  t.same(await link.connect(), { maxInfoTx: 40, maxInfoRx: 50, windowTx: 1, windowRx: 1 });
  t.ok(server.received[0]!.information, 'a non-default proposal travels in the SNRM information field');
  for (let round = 0; round < 5; round++) {
    const request = Uint8Array.from({ length: 200 }, (_, i) => (i * 7 + round) & 0xff);
    t.equal(toHex(await link.send(request)), toHex(answer(request)), `round ${round}`);
    t.equal(toHex(server.requests[round]!), toHex(request), 'the server reassembled the request');
  }
  const iFrames = written.map((b) => parseFrame(b)).filter((f) => f.control.kind === 'I');
  t.equal(iFrames.length, 5 * 5, '200 bytes in 40-byte segments');
  t.ok(iFrames.every((f) => f.information!.length <= 40));
  t.same(iFrames.slice(0, 5).map((f) => f.format.segmented), [true, true, true, true, false]);
  t.same(iFrames.slice(0, 10).map((f) => (f.control as { ns: number }).ns), [0, 1, 2, 3, 4, 5, 6, 7, 0, 1]);
  const polls = written.map((b) => parseFrame(b)).filter((f) => f.control.kind === 'RR');
  t.equal(polls.length, 5 * 6, 'six RR polls for the seven 50-byte segments of each answer');
  t.equal(server.sequenceErrors, 0);
  await link.disconnect();
});

t.test('a segmented answer larger than maxAnswerBytes ends in a LIMIT error instead of reading forever', async (t) => {
  const server = new MiniServer({ answer: () => new Uint8Array(5000), maxInfoTx: 128 });
  const { transport } = wire(server.handle);
  const link = new HdlcLink(transport, { client: 0x10, server: serverAddress(1), maxAnswerBytes: 1000 });
  await link.connect();
  await t.rejects(link.send(Uint8Array.of(1, 2, 3)), { code: 'LIMIT' });
});

t.test('calls are serialized: two sends issued together both get their own answers', async (t) => {
  const server = new MiniServer({ answer: (r) => Uint8Array.from([...r].reverse()) });
  const link = new HdlcLink(wire(server.handle).transport, { client: 0x10, server: serverAddress(1) });
  const [a, b] = await Promise.all([link.connect().then(() => link.send(Uint8Array.of(1, 2, 3))), link.send(Uint8Array.of(4, 5))]);
  t.same(Array.from(a), [3, 2, 1]);
  t.same(Array.from(b), [5, 4]);
});

t.test('two- and four-byte server addresses are used as given', async (t) => {
  for (const address of [serverAddress(1, 0x11), serverAddress(0x10, 0x3001)]) {
    const server = new MiniServer({ answer: (r) => r, address });
    const { transport, written } = wire(server.handle);
    const link = new HdlcLink(transport, { client: 0x10, server: address });
    await link.connect();
    t.same(Array.from(await link.send(Uint8Array.of(9))), [9]);
    t.same(parseFrame(written[0]!).destination, address);
  }
});
