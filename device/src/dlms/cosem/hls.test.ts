// HLS-GMAC (mechanism 5): the Green Book example vector, tampering and wrong keys, and the four-pass
// exchange of CosemClient against an in-memory server over the HDLC MiniServer.
import t from 'tap';
import { DlmsError } from '../errors.js';
import { serverAddress } from '../hdlc/address.js';
import { hex, toHex } from '../hdlc/fixtures.js';
import { HdlcLink } from '../hdlc/link.js';
import { MiniServer, wire } from '../hdlc/mock-server.js';
import { APPLICATION_CONTEXT, MECHANISM, parseAarq } from './acse.js';
import { encodeActionResponseNormal, parseActionRequest } from './action.js';
import { concat, encodeOid, tlv } from './ber.js';
import { CosemClient } from './client.js';
import { MemoryInvocationCounter, hlsChallenge, hlsGmac, verifyHlsGmac, type HlsKeys } from './hls.js';
import { encodeGetResponseNormal, parseGetRequest } from './get.js';
import { encodeInitiateResponse } from './initiate.js';

// DLMS UA Green Book, HLS-GMAC example (values as quoted by jDLMS's GmacTest; see test-vectors/dlms/README.md).
const GB = {
  challenge: hex('503677524A323146'),
  keys: { encryptionKey: hex('000102030405060708090A0B0C0D0E0F'), authenticationKey: hex('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF') },
  systemTitle: hex('4D4D4D0000000001'),
  invocationCounter: 1n,
  f: '10000000011a52fe7dd3e72748973c1e28',
};

t.test('Green Book example: f(StoC) = SC || IC || GMAC tag', async (t) => {
  t.equal(toHex(hlsGmac(GB.challenge, GB.keys, GB.systemTitle, GB.invocationCounter)), GB.f);
  t.equal(verifyHlsGmac(hex(GB.f), GB.challenge, GB.keys, GB.systemTitle), 1n, 'verifies and yields the invocation counter');
});

t.test('tampered tag, wrong keys, wrong system title, wrong SC or size: AUTH', async (t) => {
  const f = hex(GB.f);
  for (let i = 0; i < f.length; i++) {
    const bad = f.slice();
    bad[i]! ^= 0x01;
    t.throws(() => verifyHlsGmac(bad, GB.challenge, GB.keys, GB.systemTitle), { code: 'AUTH' }, `bit flipped in octet ${i}`);
  }
  const otherKey = hex('000102030405060708090A0B0C0D0E0E');
  t.throws(() => verifyHlsGmac(f, GB.challenge, { ...GB.keys, encryptionKey: otherKey }, GB.systemTitle), { code: 'AUTH' }, 'wrong EK');
  t.throws(() => verifyHlsGmac(f, GB.challenge, { ...GB.keys, authenticationKey: otherKey }, GB.systemTitle), { code: 'AUTH' }, 'wrong AK');
  t.throws(() => verifyHlsGmac(f, GB.challenge, GB.keys, hex('4D4D4D0000000002')), { code: 'AUTH' }, 'other system title');
  t.throws(() => verifyHlsGmac(f, hex('503677524A323147'), GB.keys, GB.systemTitle), { code: 'AUTH' }, 'other challenge');
  t.throws(() => verifyHlsGmac(f.subarray(0, 16), GB.challenge, GB.keys, GB.systemTitle), { code: 'AUTH' }, 'short');
  t.throws(() => verifyHlsGmac(f, GB.challenge, GB.keys, hex('4D4D4D00')), { code: 'AUTH' }, 'server system title of 4 octets');
  t.throws(() => hlsGmac(GB.challenge, { ...GB.keys, encryptionKey: hex('0001') }, GB.systemTitle, 1n), { code: 'VALUE' }, 'short key');
  t.throws(() => hlsGmac(GB.challenge, GB.keys, GB.systemTitle, 0x1_0000_0000n), { code: 'LIMIT' }, 'IC beyond Unsigned32');
});

t.test('invocation counter: strictly increasing, never reused', async (t) => {
  const ic = new MemoryInvocationCounter(41n);
  t.same([ic.next(), ic.next(), ic.next()], [41n, 42n, 43n]);
  t.equal(ic.current, 44n);
  t.throws(() => new MemoryInvocationCounter(0x1_0000_0000n).next(), { code: 'LIMIT' });
  t.equal(hlsChallenge().length, 16);
  t.throws(() => hlsChallenge(7), { code: 'VALUE' });
});

// ---- the four passes against an in-memory server ----------------------------------------------------------

const SERVER_TITLE = hex('4D4D4D00000BC614');
const CLIENT_TITLE = hex('4D45540000000001');
const KEYS: HlsKeys = GB.keys;

interface HlsServerOptions {
  keys?: HlsKeys;
  /** What the server does with pass 3: verify (default), or never answer. */
  silentOnAction?: boolean;
  tamperReply?: boolean;
}

function hlsServer(o: HlsServerOptions = {}) {
  const keys = o.keys ?? KEYS;
  const seen: bigint[] = [];
  let stoc: Uint8Array = new Uint8Array(0);
  let ctos: Uint8Array = new Uint8Array(0);
  let clientTitle: Uint8Array = new Uint8Array(0);
  let authenticated = false;
  let serverIc = 100n;
  const handle = (apdu: Uint8Array): Uint8Array | undefined => {
    if (apdu[0] === 0x60) {
      const q = parseAarq(apdu);
      ctos = typeof q.password === 'string' ? new TextEncoder().encode(q.password) : (q.password ?? new Uint8Array(0));
      clientTitle = q.callingApTitle ?? new Uint8Array(0);
      stoc = hlsChallenge(16);
      authenticated = false;
      const ir = encodeInitiateResponse({ dlmsVersion: 6, conformance: ['get', 'action', 'block-transfer-with-get-or-read'], maxReceivePduSize: 512, vaaName: 7 });
      return tlv(0x61, concat([
        tlv(0xa1, tlv(0x06, encodeOid(APPLICATION_CONTEXT.lnNoCiphering))),
        tlv(0xa2, tlv(0x02, Uint8Array.of(0))), // accepted
        tlv(0xa3, tlv(0xa1, tlv(0x02, Uint8Array.of(14)))), // acse-service-user: authentication-required
        tlv(0xa4, tlv(0x04, SERVER_TITLE)),
        tlv(0x88, Uint8Array.of(0x07, 0x80)),
        tlv(0x89, encodeOid(q.mechanismName ?? MECHANISM.lowest)),
        tlv(0xaa, tlv(0x80, stoc)),
        tlv(0xbe, tlv(0x04, ir)),
      ]));
    }
    if (apdu[0] === 0xc3) {
      if (o.silentOnAction) return undefined;
      const req = parseActionRequest(apdu);
      const f = req.parameters?.type === 'octet-string' ? req.parameters.value : new Uint8Array(0);
      let ic: bigint;
      try {
        ic = verifyHlsGmac(f, stoc, keys, clientTitle);
      } catch {
        return encodeActionResponseNormal(req.invokeIdAndPriority, 3); // read-write-denied
      }
      if (seen.some((x) => x >= ic)) return encodeActionResponseNormal(req.invokeIdAndPriority, 3);
      seen.push(ic);
      authenticated = true;
      const reply = hlsGmac(ctos, keys, SERVER_TITLE, serverIc++);
      if (o.tamperReply) reply[10]! ^= 0x80;
      return encodeActionResponseNormal(req.invokeIdAndPriority, 0, { type: 'octet-string', value: reply });
    }
    if (apdu[0] === 0xc0) {
      const req = parseGetRequest(apdu);
      return encodeGetResponseNormal(req.invokeIdAndPriority, authenticated ? { data: { type: 'double-long-unsigned', value: 12345 } } : { accessResult: 3 });
    }
    if (apdu[0] === 0x62) return Uint8Array.of(0x63, 0x03, 0x80, 0x01, 0x00); // RLRE normal
    return undefined;
  };
  return { seen, handle };
}

function rig(o: HlsServerOptions = {}, timeoutMs = 300) {
  const s = hlsServer(o);
  const server = new MiniServer({ answer: (info) => {
    const a = s.handle(info.subarray(3));
    return a ? concat([Uint8Array.of(0xe6, 0xe7, 0x00), a]) : new Uint8Array(0);
  } });
  // MiniServer answers an empty answer with an empty I frame; a silent server is one that drops the frame.
  const { transport } = wire((r) => {
    if (o.silentOnAction && r.frame.control.kind === 'I' && r.frame.information?.[3] === 0xc3) return [];
    return server.handle(r);
  });
  const link = new HdlcLink(transport, { client: 0x30, server: serverAddress(1), timeoutMs, retries: 1 });
  return { s, link, client: new CosemClient(link) };
}

t.test('HLS-GMAC: four passes, then GET is allowed; the counter moves on every association', async (t) => {
  const { s, link, client } = rig();
  const counter = new MemoryInvocationCounter(7n);
  const a = await client.associate({ hls: { keys: KEYS, systemTitle: CLIENT_TITLE, invocationCounter: counter } });
  t.equal(a.authentication, 'hls-gmac');
  t.equal(toHex(a.serverSystemTitle!), toHex(SERVER_TITLE));
  t.equal(a.serverInvocationCounter, 100n);
  t.same((await client.get(3, '1.0.1.8.0.255', 2)).type, 'double-long-unsigned');
  await client.release();
  t.equal(link.state, 'disconnected');
  await client.associate({ hls: { keys: KEYS, systemTitle: CLIENT_TITLE, invocationCounter: counter } });
  t.same(s.seen, [7n, 8n], 'the server saw IC 7, then 8');
  await client.release();
});

t.test('HLS-GMAC: a reused invocation counter is refused by the server (AUTH)', async (t) => {
  const { client } = rig();
  await client.associate({ hls: { keys: KEYS, systemTitle: CLIENT_TITLE, invocationCounter: new MemoryInvocationCounter(5n) } });
  await client.release();
  await t.rejects(client.associate({ hls: { keys: KEYS, systemTitle: CLIENT_TITLE, invocationCounter: new MemoryInvocationCounter(5n) } }), { code: 'AUTH' });
});

t.test('HLS-GMAC: client with a wrong key gets AUTH, and the link is released', async (t) => {
  const { link, client } = rig();
  const wrong = { ...KEYS, authenticationKey: hex('00000000000000000000000000000000') };
  const err = await client.associate({ hls: { keys: wrong, systemTitle: CLIENT_TITLE, invocationCounter: new MemoryInvocationCounter() } }).catch((e: unknown) => e);
  t.ok(err instanceof DlmsError && err.code === 'AUTH', `AUTH (${String(err)})`);
  t.match(String(err), /refused f\(StoC\)/);
  t.equal(link.state, 'disconnected');
  t.equal(client.association, undefined);
});

t.test('HLS-GMAC: a server with other keys, or a tampered f(CtoS), gets AUTH', async (t) => {
  const other = rig({ keys: { ...KEYS, encryptionKey: hex('ffffffffffffffffffffffffffffffff') } });
  await t.rejects(other.client.associate({ hls: { keys: KEYS, systemTitle: CLIENT_TITLE, invocationCounter: new MemoryInvocationCounter() } }), { code: 'AUTH' });
  const tampered = rig({ tamperReply: true });
  const err = await tampered.client.associate({ hls: { keys: KEYS, systemTitle: CLIENT_TITLE, invocationCounter: new MemoryInvocationCounter() } }).catch((e: unknown) => e);
  t.ok(err instanceof DlmsError && err.code === 'AUTH');
  t.match(String(err), /does not verify/);
});

t.test('HLS-GMAC: a server that never answers pass 3 gives TIMEOUT, not a hang', async (t) => {
  const { client } = rig({ silentOnAction: true }, 100);
  await t.rejects(client.associate({ hls: { keys: KEYS, systemTitle: CLIENT_TITLE, invocationCounter: new MemoryInvocationCounter() } }), { code: 'TIMEOUT' });
});

t.test('HLS AARQ carries the client system title, mechanism 5 and CtoS', async (t) => {
  const { s, client } = rig();
  void s;
  const seen: Uint8Array[] = [];
  const link = client.link as HdlcLink;
  const send = link.send.bind(link);
  link.send = (info: Uint8Array) => {
    seen.push(info.slice());
    return send(info);
  };
  await client.associate({ hls: { keys: KEYS, systemTitle: CLIENT_TITLE, invocationCounter: new MemoryInvocationCounter(), challengeLength: 32 } });
  const q = parseAarq(seen[0]!.subarray(3));
  t.equal(q.mechanismName, MECHANISM.highGmac);
  t.equal(toHex(q.callingApTitle!), toHex(CLIENT_TITLE));
  t.equal(q.password!.length, 32, 'CtoS of the asked length');
  t.equal(seen[1]![3], 0xc3, 'pass 3 is an Action-Request');
  t.equal(toHex(seen[1]!.subarray(6, 15)), '000f0000280000ff01', 'Association LN 0.0.40.0.0.255 method 1');
});
