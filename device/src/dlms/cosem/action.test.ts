// ACTION APDUs (IEC 62056-5-3 §8): round trips, the HLS pass-3/4 shapes, and hostile bytes → DlmsError only.
import t from 'tap';
import fc from 'fast-check';
import { hex, toHex } from '../hdlc/fixtures.js';
import { encodeActionRequestNormal, encodeActionResponseNormal, parseActionRequest, parseActionResponse } from './action.js';
import { verifyHlsGmac } from './hls.js';
import { parseAarq } from './acse.js';
import { assertOnlyDlmsErrors } from './test-support.js';

const F = hex('10000000011a52fe7dd3e72748973c1e28');

t.test('Action-Request-Normal for reply_to_HLS_authentication, and back', async (t) => {
  const b = encodeActionRequestNormal(0xc1, { classId: 15, instance: '0.0.40.0.0.255', methodId: 1 }, { type: 'octet-string', value: F });
  t.equal(toHex(b), 'c301c1000f0000280000ff0101091110000000011a52fe7dd3e72748973c1e28');
  const r = parseActionRequest(b);
  t.same([r.invokeIdAndPriority, r.classId, toHex(r.instance), r.methodId], [0xc1, 15, '0000280000ff', 1]);
  t.same(r.parameters, { type: 'octet-string', value: F });
  t.same(parseActionRequest(encodeActionRequestNormal(0x41, { classId: 70, instance: '0.0.96.3.10.255', methodId: 2 })).parameters, undefined);
  t.throws(() => parseActionRequest(Uint8Array.from([...b, 0x00])), { code: 'LENGTH' });
});

t.test('Action-Response-Normal: success with f(CtoS), refusal without data, data-access-result', async (t) => {
  const ok = parseActionResponse(encodeActionResponseNormal(0xc1, 0, { type: 'octet-string', value: F }));
  t.same([ok.result, ok.resultName, ok.trailing], [0, 'success', 0]);
  t.same(ok.returned, { data: { type: 'octet-string', value: F } });
  const denied = parseActionResponse(hex('c701c10300'));
  t.same([denied.result, denied.resultName, denied.returned], [3, 'read-write-denied', undefined]);
  t.same(parseActionResponse(hex('c701c1000101 0d')).returned, { accessResult: 13 });
  t.equal(parseActionResponse(hex('c701c100 00 abcd')).trailing, 2, 'trailing bytes are counted, not fatal here');
  t.throws(() => parseActionResponse(hex('c702c100')), { code: 'UNSUPPORTED' });
  t.throws(() => parseActionResponse(hex('c401c100')), { code: 'APDU' });
  t.throws(() => parseActionResponse(hex('c701c1')), { code: 'SHORT' });
});

t.test('hostile bytes into the ACTION, AARQ and HLS parsers give a value or a DlmsError, nothing else', async () => {
  const captured = [
    encodeActionRequestNormal(0xc1, { classId: 15, instance: '0.0.40.0.0.255', methodId: 1 }, { type: 'octet-string', value: F }),
    encodeActionResponseNormal(0xc1, 0, { type: 'octet-string', value: F }),
    hex('c701c10300'),
  ];
  const keys = { authenticationKey: hex('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF'), encryptionKey: hex('000102030405060708090A0B0C0D0E0F') };
  assertOnlyDlmsErrors(captured, [
    parseActionRequest,
    parseActionResponse,
    parseAarq,
    (b) => verifyHlsGmac(b, hex('503677524A323146'), keys, hex('4D4D4D0000000001')),
    (b) => verifyHlsGmac(F, b, keys, b.subarray(0, 8)),
  ], [fc.constant(F), fc.uint8Array({ minLength: 17, maxLength: 17 })], 2000);
});
