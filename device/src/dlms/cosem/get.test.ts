import t from 'tap';
import fc from 'fast-check';
import { DlmsError } from '../errors.js';
import { hex, toHex } from '../hdlc/fixtures.js';
import {
  encodeGetRequestNext,
  encodeGetRequestNormal,
  encodeGetResponseBlock,
  encodeGetResponseNormal,
  invokeIdAndPriority,
  parseExceptionResponse,
  parseGetRequest,
  parseGetResponse,
} from './get.js';
import { obis } from './obis.js';
import { rangeAccess } from './objects.js';
import { apduHex, apdus, assertOnlyDlmsErrors, session } from './test-support.js';

const none = session('gurux-c-simple-server_pty_auth-none');
const pwitab = session('dlms-cosem-client');
const iip = invokeIdAndPriority(1);

t.test('Get-Request-Normal and -Next byte-identical to the captured requests', async (t) => {
  t.equal(iip, 0xc1);
  const requests = apduHex(none, 'client->server');
  t.equal(toHex(encodeGetRequestNormal(iip, { classId: 15, instance: obis('0.0.40.0.0.255'), attributeId: 2 })), requests[1]);
  t.equal(toHex(encodeGetRequestNext(iip, 1)), requests[2]);
  t.equal(toHex(encodeGetRequestNext(iip, 3)), requests[4]);
  t.equal(toHex(encodeGetRequestNormal(iip, { classId: 8, instance: obis('0-0:1.0.0*255'), attributeId: 2 })), requests[5]);
  t.equal(toHex(encodeGetRequestNormal(iip, { classId: 3, instance: obis('1-0:1.8.0.255'), attributeId: 3 })), requests[7]);
  const p = apduHex(pwitab, 'client->server');
  t.equal(toHex(encodeGetRequestNormal(iip, { classId: 3, instance: obis('1.1.21.25.0.255'), attributeId: 2 })), p[4]);
  t.same(parseGetRequest(hex(p[4]!)), { kind: 'normal', invokeIdAndPriority: 0xc1, descriptor: { classId: 3, instance: obis('1.1.21.25.0.255'), attributeId: 2 } });
  t.same(parseGetRequest(hex(requests[2]!)), { kind: 'next', invokeIdAndPriority: 0xc1, blockNumber: 1 });
});

t.test('Get-Request-Normal with range selective access (Profile generic, access_selector 1)', async (t) => {
  const access = rangeAccess(Date.parse('2026-11-21T00:00:00Z'), Date.parse('2026-11-22T00:00:00Z'));
  const req = encodeGetRequestNormal(iip, { classId: 7, instance: obis('1.0.99.1.0.255'), attributeId: 2 }, access);
  const expected =
    'c001c1 0007 0100630100ff 02 01 01' + // class 7, 1.0.99.1.0.255, attribute 2, access-selection present, selector 1
    '0204 0204 120008 0906 0000010000ff 0f02 120000' + // restricting_object: the clock's time attribute
    '090c 07ea0b1506000000000000 00' + // from_value: 2026-11-21 (Saturday) 00:00:00, deviation 0, status 0
    '090c 07ea0b1607000000000000 00' + // to_value
    '0100'; // selected_values: all columns
  t.equal(toHex(req), expected.replace(/ /g, ''));
  t.same(parseGetRequest(req), { kind: 'normal', invokeIdAndPriority: 0xc1, descriptor: { classId: 7, instance: obis('1.0.99.1.0.255'), attributeId: 2 }, access });
});

t.test('captured Get-Responses: normal with Data, and the four datablocks of the association view', async (t) => {
  const answers = apdus(none).filter((a) => a.dir === 'server->client').map((a) => a.apdu);
  const blocks = answers.slice(1, 5).map((b) => parseGetResponse(b));
  t.same(blocks.map((b) => b.kind === 'datablock' && [b.blockNumber, b.lastBlock, 'raw' in b ? b.raw.length : -1]), [
    [1, false, 0x1e2], [2, false, 0x1c2], [3, false, 0x1ce], [4, true, 0x46],
  ]);
  t.same(parseGetResponse(answers[6]!), { kind: 'normal', invokeIdAndPriority: 0xc1, data: { type: 'double-long-unsigned', value: 12345678 }, trailing: 0 });
  const quirk = parseGetResponse(hex('c401c100090c07ea0b15060d1b2600000000090f090c07ea0b15060d1b2600000000090f'));
  t.same(quirk.kind === 'normal' && 'trailing' in quirk && quirk.trailing, 18, 'the unpatched server repeats the value: 18 bytes after it');
});

t.test('data-access-result, exception-response and malformed answers', async (t) => {
  t.same(parseGetResponse(hex('c401c10104')), { kind: 'normal', invokeIdAndPriority: 0xc1, accessResult: 4 });
  t.same(parseGetResponse(hex('c402c101000000020113')), { kind: 'datablock', invokeIdAndPriority: 0xc1, lastBlock: true, blockNumber: 2, accessResult: 19 });
  const x = apduHex(pwitab, 'server->client').at(-1)!;
  t.equal(x, 'd80102');
  t.same(parseExceptionResponse(hex(x)), { stateError: 1, serviceError: 2, text: 'service-not-allowed / service-not-supported' });
  t.throws(() => parseGetResponse(hex('c402c1000000000100051122')), { code: 'LENGTH' }, 'raw-data shorter than its length');
  t.throws(() => parseGetResponse(hex('c403c100')), { code: 'UNSUPPORTED' });
  t.throws(() => parseGetResponse(hex('c501c10000')), { code: 'APDU' });
  t.throws(() => parseGetResponse(hex('c401c1')), { code: 'SHORT' });
  t.throws(() => parseGetResponse(hex('c401c102')), { code: 'APDU' });
  t.throws(() => encodeGetRequestNormal(iip, { classId: 70000, instance: obis('1.0.1.8.0.255'), attributeId: 2 }), { code: 'VALUE' });
  t.throws(() => invokeIdAndPriority(16), { code: 'VALUE' });
});

t.test('server-side encoders are the inverse of the parsers', async (t) => {
  t.same(parseGetResponse(encodeGetResponseNormal(0xc1, { data: { type: 'unsigned', value: 7 } })), { kind: 'normal', invokeIdAndPriority: 0xc1, data: { type: 'unsigned', value: 7 }, trailing: 0 });
  t.same(parseGetResponse(encodeGetResponseNormal(0xc1, { accessResult: 3 })), { kind: 'normal', invokeIdAndPriority: 0xc1, accessResult: 3 });
  const raw = new Uint8Array(300).fill(9);
  const b = parseGetResponse(encodeGetResponseBlock(0xc2, false, 7, raw));
  t.same(b.kind === 'datablock' && 'raw' in b && [b.blockNumber, b.lastBlock, b.raw.length], [7, false, 300]);
});

t.test('arbitrary bytes into parseGetResponse / parseGetRequest: a value or a DlmsError', async (t) => {
  const captured = apdus(none).map((a) => a.apdu);
  assertOnlyDlmsErrors(captured, [parseGetResponse, parseGetRequest, parseExceptionResponse], [
    fc.uint8Array({ maxLength: 60 }).map((b) => Uint8Array.from([0xc4, ...b])),
    fc.uint8Array({ maxLength: 60 }).map((b) => Uint8Array.from([0xc0, ...b])),
  ]);
  t.pass();
});
