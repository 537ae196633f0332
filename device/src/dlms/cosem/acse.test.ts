import t from 'tap';
import { DlmsError } from '../errors.js';
import { hex, toHex } from '../hdlc/fixtures.js';
import { APPLICATION_CONTEXT, MECHANISM, encodeAarq, encodeRlrq, parseAarq, parseAare, parseRlre } from './acse.js';
import { decodeOid, encodeOid } from './ber.js';
import { encodeInitiateResponse, parseConfirmedServiceError, parseInitiateRequest } from './initiate.js';
import { GURUX_CONFORMANCE, PWITAB_CONFORMANCE, apduHex, assertOnlyDlmsErrors, session } from './test-support.js';

const none = session('gurux-c-simple-server_pty_auth-none');
const low = session('_pty_auth-low');
const wrong = session('wrong-password');
const pwitab = session('dlms-cosem-client');
const first = (s: typeof none, dir: 'client->server' | 'server->client') => apduHex(s, dir)[0]!;

t.test('AARQ: byte-identical to the captured clients, given the same parameters', async (t) => {
  const initiate = { conformance: GURUX_CONFORMANCE, maxReceivePduSize: 0xffff };
  t.equal(toHex(encodeAarq({ initiate })), first(none, 'client->server'), 'no authentication');
  t.equal(toHex(encodeAarq({ initiate, password: 'Gurux' })), first(low, 'client->server'), 'low-level security');
  t.equal(toHex(encodeAarq({ initiate, password: new TextEncoder().encode('WRONG') })), first(wrong, 'client->server'), 'wrong password');
  const callingApTitle = hex('757469 03e9890f5a');
  t.equal(toHex(encodeAarq({ callingApTitle, initiate: { conformance: PWITAB_CONFORMANCE } })), first(pwitab, 'client->server'), 'with calling-AP-title');
  const back = parseAarq(hex(first(low, 'client->server')));
  t.equal(back.applicationContext, APPLICATION_CONTEXT.lnNoCiphering);
  t.equal(back.mechanismName, MECHANISM.low);
  t.equal(Buffer.from(back.password!).toString(), 'Gurux');
  t.same(back.initiate, { responseAllowed: true, dlmsVersion: 6, conformance: GURUX_CONFORMANCE, maxReceivePduSize: 0xffff });
});

t.test('AARE: every captured one parses, the wrong password as rejected-permanent / authentication-failure', async (t) => {
  const ok = parseAare(hex(first(none, 'server->client')));
  t.same(ok, {
    applicationContext: APPLICATION_CONTEXT.lnNoCiphering,
    result: 0,
    resultName: 'accepted',
    diagnostic: { source: 'acse-service-user', value: 0, name: 'null' },
    initiateResponse: { dlmsVersion: 6, conformance: ['get'], maxReceivePduSize: 512, vaaName: 7 },
  });
  t.equal(toHex(encodeInitiateResponse(ok.initiateResponse!)), '0800065f1f040000001002000007', 're-encodes');
  const lowAare = parseAare(hex(first(low, 'server->client')));
  t.equal(lowAare.result, 0);
  t.same(lowAare.initiateResponse!.conformance, [
    'block-transfer-with-get-or-read', 'block-transfer-with-set-or-write', 'block-transfer-with-action', 'multiple-references', 'get', 'set', 'selective-access', 'action',
  ]);
  const rejected = parseAare(hex(first(wrong, 'server->client')));
  t.same([rejected.result, rejected.resultName, rejected.diagnostic], [1, 'rejected-permanent', { source: 'acse-service-user', value: 13, name: 'authentication-failure' }]);
  t.same(parseAare(hex(first(pwitab, 'server->client'))), ok);
});

t.test('AARE with a ConfirmedServiceError, a provider diagnostic, or a ciphered InitiateResponse', async (t) => {
  const aare = (diag: string, ui: string) => hex(`61${((diag.length + ui.length) / 2 + 16).toString(16).padStart(2, '0')}a109060760857405080101a203020101${diag}${ui}`);
  const cse = parseAare(aare('a305a203020102', 'be0604040e010601'));
  t.same(cse.diagnostic, { source: 'acse-service-provider', value: 2, name: 'no-common-acse-version' });
  t.same(cse.serviceError, { service: 1, errorType: 6, errorTypeName: 'initiate', value: 1, text: 'initiate: dlms-version-too-low' });
  t.throws(() => parseAare(aare('a305a103020100', 'be0604042801ff00')), { code: 'UNSUPPORTED' });
  t.throws(() => parseAare(hex('6103a20100')), { code: 'BER' });
  t.throws(() => parseAare(hex('6100')), { code: 'APDU' }, 'mandatory fields missing');
  t.throws(() => parseConfirmedServiceError(hex('0e0106')), { code: 'SHORT' });
});

t.test('RLRQ byte-identical to the captured dlms-cosem client; RLRE parses', async (t) => {
  const rlrq = apduHex(pwitab, 'client->server').at(-1)!;
  t.equal(toHex(encodeRlrq({ reason: 0, initiate: { conformance: ['get'], maxReceivePduSize: 512 } })), rlrq);
  t.same(parseInitiateRequest(hex(rlrq).subarray(9)).conformance, ['get']);
  t.equal(toHex(encodeRlrq({ reason: 0 })), '6203800100');
  t.same(parseRlre(hex('6303800100')), { reason: 0 });
  t.same(parseRlre(hex('6315800100be10040e0800065f1f040000001002000007')).initiateResponse?.maxReceivePduSize, 512);
  t.throws(() => parseRlre(hex('6203800100')), { code: 'BER' });
});

t.test('object identifiers', async (t) => {
  t.equal(toHex(encodeOid(APPLICATION_CONTEXT.lnNoCiphering)), '60857405080101');
  t.equal(decodeOid(hex('60857405080201')), MECHANISM.low);
  t.equal(decodeOid(encodeOid('1.2.840.113549')), '1.2.840.113549');
  t.throws(() => decodeOid(hex('6085')), { code: 'BER' });
  t.throws(() => encodeOid('3.1'), { code: 'VALUE' });
});

t.test('arbitrary bytes into parseAare / parseRlre / parseAarq: a value or a DlmsError', async (t) => {
  const captured = [none, low, wrong, pwitab].flatMap((s) => [first(s, 'server->client'), first(s, 'client->server')]).map(hex);
  assertOnlyDlmsErrors(captured, [parseAare, parseRlre, parseAarq]);
  t.pass();
});
