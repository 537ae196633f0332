// CosemClient against an in-memory COSEM server (test-support.ts) on the HDLC MiniServer: Profile generic
// with range selective access and block transfer, and servers that misbehave.
import t from 'tap';
import type { Data } from '../axdr/index.js';
import { dateTimeFromEpochMs, dateTimeToEpochMs, encodeDateTime, parseDateTime } from '../axdr/datetime.js';
import { serverAddress } from '../hdlc/address.js';
import { hex, toHex } from '../hdlc/fixtures.js';
import { HdlcLink } from '../hdlc/link.js';
import { MiniServer, wire } from '../hdlc/mock-server.js';
import { CosemClient, type CosemClientOptions } from './client.js';
import { DataAccessError, ServiceError } from './errors.js';
import { encodeGetResponseBlock } from './get.js';
import { aare, cosemServer, type Attribute, type CosemServerOptions } from './test-support.js';

const T0 = Date.parse('2026-11-21T00:00:00Z');
const PERIOD = 15 * 60_000;
const clockColumn: Data = { type: 'structure', value: [
  { type: 'long-unsigned', value: 8 }, { type: 'octet-string', value: hex('0000010000ff') }, { type: 'integer', value: 2 }, { type: 'long-unsigned', value: 0 },
] };

const restrictingObjects: (Data | undefined)[] = [];

/** A load profile: one entry every 15 minutes for a day (97 entries), energy rising by 10 Wh each. */
const buffer: Attribute = (req) => {
  let from = -Infinity;
  let to = Infinity;
  if (req.access) {
    const p = req.access.parameters;
    if (req.access.selector !== 1 || p.type !== 'structure') return { accessResult: 12 };
    restrictingObjects.push(p.value[0]);
    const bound = (d: Data | undefined) => (d?.type === 'octet-string' ? dateTimeToEpochMs(parseDateTime(d.value)) : NaN);
    [from, to] = [bound(p.value[1]), bound(p.value[2])];
  }
  const rows: Data[] = [];
  for (let i = 0; i <= 96; i++) {
    const at = T0 + i * PERIOD;
    if (at < from || at > to) continue;
    rows.push({ type: 'structure', value: [
      { type: 'octet-string', value: encodeDateTime(dateTimeFromEpochMs(at)) },
      { type: 'double-long-unsigned', value: 1000 + i * 10 },
    ] });
  }
  return { type: 'array', value: rows };
};

const attributes: Record<string, Attribute> = {
  '7/1-0:99.1.0*255/2': buffer,
  '7/1-0:99.1.0*255/3': () => ({ type: 'array', value: [clockColumn, { type: 'structure', value: [
    { type: 'long-unsigned', value: 3 }, { type: 'octet-string', value: hex('0100010800ff') }, { type: 'integer', value: 2 }, { type: 'long-unsigned', value: 0 },
  ] }] }),
  '3/1-0:1.8.0*255/2': () => ({ type: 'long64-unsigned', value: 2n ** 40n }),
  '3/1-0:1.8.0*255/3': () => ({ type: 'structure', value: [{ type: 'integer', value: -2 }, { type: 'enum', value: 30 }] }),
  '1/0-0:96.1.0*255/2': () => ({ accessResult: 3 }), // read-write-denied
};

function setup(server: Partial<CosemServerOptions> = {}, options: CosemClientOptions = {}, chunk = 0) {
  const cosem = cosemServer({ attributes, ...server });
  const hdlc = new MiniServer({ answer: cosem.answer });
  const link = new HdlcLink(wire(hdlc.handle, chunk).transport, { client: 0x10, server: serverAddress(1), timeoutMs: 30, retries: 1 });
  return { client: new CosemClient(link, options), link, log: cosem.log };
}

t.test('Profile generic: columns, the whole buffer and a time range, both in several blocks', async (t) => {
  const { client, log } = setup({}, {}, 11);
  await client.associate();
  t.same(await client.captureObjects('1.0.99.1.0.255'), [
    { classId: 8, logicalName: '0-0:1.0.0*255', attributeIndex: 2, dataIndex: 0 },
    { classId: 3, logicalName: '1-0:1.8.0*255', attributeIndex: 2, dataIndex: 0 },
  ]);
  const all = await client.getProfileBuffer('1.0.99.1.0.255');
  t.equal(all.length, 97);
  const blocksBefore = client.stats.blocks;
  const rows = await client.getProfileBuffer('1.0.99.1.0.255', Date.parse('2026-11-21T06:00:00Z'), Date.parse('2026-11-21T12:00:00Z'));
  t.equal(rows.length, 25, '06:00 to 12:00 inclusive');
  t.ok(client.stats.blocks - blocksBefore >= 3, 'the range answer came in blocks too');
  const first = rows[0]!;
  t.equal(first[0]?.type === 'octet-string' && new Date(dateTimeToEpochMs(parseDateTime(first[0].value))).toISOString(), '2026-11-21T06:00:00.000Z');
  t.same(first[1], { type: 'double-long-unsigned', value: 1240 });
  t.equal(toHex(log.at(-1 - (client.stats.blocks - blocksBefore - 1))!.subarray(0, 15)), 'c001c100070100630100ff02010102', 'selective access 1 was requested');
  const open = await client.getProfileBuffer('1.0.99.1.0.255', Date.parse('2026-11-21T23:00:00Z'));
  t.equal(open.length, 5, 'from only: open-ended to');
  t.same(restrictingObjects, [clockColumn, clockColumn], 'restricting object: the clock column');
  await client.release();
});

t.test('registers with long64 values and negative scalers; refusals as DataAccessError', async (t) => {
  const { client } = setup();
  await client.associate();
  t.same(await client.readRegister('1.0.1.8.0.255'), { value: 2n ** 40n, scaler: -2, unit: 30, unitSymbol: 'Wh', decimal: '10995116277.76' });
  const denied = await client.readData('0.0.96.1.0.255').catch((e: unknown) => e);
  t.ok(denied instanceof DataAccessError && denied.code === 'ACCESS' && denied.result === 3 && denied.resultName === 'read-write-denied');
  t.same(await client.getResult(1, '0.0.96.1.1.255', 2), { accessResult: 4, resultName: 'object-undefined' });
  t.same(await client.release(), { rlre: { reason: 0 } }, 'RLRQ answered by RLRE');
});

t.test('a password the server refuses; a server that answers AARQ without InitiateResponse', async (t) => {
  const a = setup({ password: 'secret' });
  await t.rejects(a.client.associate({ password: 'nope' }), { code: 'REJECTED' });
  t.equal(a.link.state, 'disconnected');
  t.equal((await a.client.associate({ password: 'secret' })).dlmsVersion, 6, 'a new associate() connects again');
  const b = setup({ override: (req) => (req[0] === 0x60 ? aare(0, 0) : undefined) });
  await t.rejects(b.client.associate(), { code: 'APDU' });
});

t.test('hostile servers: every failure is a typed error and the client never hangs', async (t) => {
  // The misbehaviour hits the profile's GETs (class 7, and GET-next); the register read after it must work.
  const profile = (answer: (req: Uint8Array) => Uint8Array) => (req: Uint8Array) =>
    req[0] === 0xc0 && (req[1] === 0x02 || req[4] === 7) ? answer(req) : undefined;
  const endless = profile((req) => encodeGetResponseBlock(0xc1, false, req[1] === 0x02 ? new DataView(req.buffer, req.byteOffset).getUint32(3) + 1 : 1, hex('00')));
  const cases: [string, Partial<CosemServerOptions>, CosemClientOptions, string][] = [
    ['blocks that never end', { override: endless }, { maxBlocks: 20 }, 'LIMIT'],
    ['blocks beyond maxResponseBytes', { blockSize: 50 }, { maxResponseBytes: 1000 }, 'LIMIT'],
    ['a refusal in the middle of a transfer', { blockSize: 50, override: (req) => (req[1] === 0x02 ? hex('c401c1010f') : undefined) }, {}, 'ACCESS'],
    ['a skipped block number', { blockSize: 50, override: (req) => (req[1] === 0x02 ? encodeGetResponseBlock(0xc1, false, 5, hex('00')) : undefined) }, {}, 'APDU'],
    ['an answer for another invoke-id', { override: profile(() => hex('c401c2000f01')) }, {}, 'APDU'],
    ['an APDU that is not a Get-Response', { override: profile(() => hex('c501c10000')) }, {}, 'APDU'],
    ['an array longer than the bytes', { override: profile(() => hex('c401c100010401')) }, {}, 'LENGTH'],
    ['Data cut short', { override: profile(() => hex('c401c10001020600bc')) }, {}, 'SHORT'],
    ['Data nested too deep', { override: profile(() => hex('c401c100' + '0101'.repeat(40) + '00')) }, {}, 'LIMIT'],
    ['an exception-response', { override: profile(() => hex('d80102')) }, {}, 'EXCEPTION'],
  ];
  for (const [what, server, options, code] of cases) {
    const { client } = setup(server, options);
    await client.associate();
    const e = await client.getProfileBuffer('1.0.99.1.0.255').catch((err: unknown) => err);
    t.match(e, { name: 'DlmsError', code }, what);
    if (code === 'EXCEPTION') t.ok(e instanceof ServiceError && e.response.text === 'service-not-allowed / service-not-supported');
    t.equal((await client.readRegister('1.0.1.8.0.255')).scaler, -2, `${what}: the next GET still works`);
  }
});

t.test('a missing LLC header, a silent server, and GET before associate', async (t) => {
  const { client } = setup({ override: (req) => (req[0] === 0xc0 ? hex('c401c1000f01') : undefined) });
  await t.rejects(client.get(1, '0.0.42.0.0.255', 2), { code: 'STATE' });
  await client.associate();
  t.same(await client.get(1, '0.0.42.0.0.255', 2), { type: 'integer', value: 1 });

  const noLlc = new MiniServer({ answer: (info) => info.subarray(3) });
  const c1 = new CosemClient(new HdlcLink(wire(noLlc.handle).transport, { client: 0x10, server: serverAddress(1) }));
  await t.rejects(c1.associate(), { code: 'LLC' });

  let silent = false;
  const cosem = cosemServer({ attributes });
  const hdlc = new MiniServer({ answer: cosem.answer, loseRequest: (f) => silent && f.control.kind === 'I' });
  const link = new HdlcLink(wire(hdlc.handle).transport, { client: 0x10, server: serverAddress(1), timeoutMs: 20, retries: 2 });
  const c2 = new CosemClient(link);
  await c2.associate();
  silent = true;
  await t.rejects(c2.readClock(), { code: 'TIMEOUT' });
});

t.test('requests larger than the server accepts are refused before sending', async (t) => {
  const { client } = setup({ maxPdu: 40 });
  await client.associate();
  await t.rejects(client.getProfileBuffer('1.0.99.1.0.255', T0, T0 + PERIOD), { code: 'LIMIT' });
});
