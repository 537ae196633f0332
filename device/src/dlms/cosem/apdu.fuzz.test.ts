// Fuzzing every DLMS/COSEM APDU parser of the meter agent (issue 8 item 2): AARQ/AARE/RLRE (ACSE), xDLMS
// Initiate and confirmed-service-error, GET/ACTION requests and responses, exception responses, the BER
// reader, the conformance block, LLC, A-XDR date-time — on random bytes and on mutations of the APDUs of
// the captured sessions (device/test-vectors/dlms/). A value or a DlmsError with a string code, nothing else.
import t from 'tap';
import fc from 'fast-check';
import { fuzzParams, mutateBytes, valueOrTyped } from '@meterseal/protocol';
import { DlmsError } from '../errors.js';
import { sessions } from '../hdlc/fixtures.js';
import { parseAarq, parseAare, parseRlre } from './acse.js';
import { parseActionRequest, parseActionResponse } from './action.js';
import { decodeOid, readTlvs } from './ber.js';
import { decodeConformance } from './conformance.js';
import { parseExceptionResponse, parseGetRequest, parseGetResponse } from './get.js';
import { parseConfirmedServiceError, parseInitiateRequest, parseInitiateResponse } from './initiate.js';
import { stripLlc } from './llc.js';
import { parseDateTime } from '../axdr/datetime.js';
import { apdus } from './test-support.js';

const captured = sessions.flatMap((s) => apdus(s));
const seeds = captured.map((a) => a.apdu).filter((a) => a.length > 0);
const limits = { maxDepth: 16, maxElements: 1000 };

const parsers: Array<[string, (b: Uint8Array) => unknown]> = [
  ['parseAarq', parseAarq],
  ['parseAare', parseAare],
  ['parseRlre', parseRlre],
  ['parseInitiateRequest', parseInitiateRequest],
  ['parseInitiateResponse', parseInitiateResponse],
  ['parseConfirmedServiceError', parseConfirmedServiceError],
  ['parseGetRequest', parseGetRequest],
  ['parseGetResponse', (b) => parseGetResponse(b, limits)],
  ['parseActionRequest', (b) => parseActionRequest(b, limits)],
  ['parseActionResponse', (b) => parseActionResponse(b, limits)],
  ['parseExceptionResponse', parseExceptionResponse],
  ['readTlvs', readTlvs],
  ['decodeOid', decodeOid],
  ['decodeConformance', decodeConformance],
  ['stripLlc', stripLlc],
  ['parseDateTime', parseDateTime],
];

const mutated = fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.nat(255)).map(([b, op, at, v]) => mutateBytes(b, op, at, v));
const hostile = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(fc.constantFrom(0x60, 0x61, 0x63, 0xc0, 0xc3, 0xc4, 0xc7, 0xd8, 0x01, 0x08, 0x0e, 0xe6), fc.uint8Array({ maxLength: 200 })).map(([tag, rest]) => Uint8Array.from([tag, ...rest])),
  mutated,
  mutated.map((b) => mutateBytes(b, 1, 0, 0)),
);

t.test('the captured APDUs are the mutation seeds', async (t) => {
  t.ok(seeds.length >= 10, `${seeds.length} APDUs from ${sessions.length} sessions`);
});

for (const [name, parse] of parsers) {
  t.test(`${name}: random and mutated APDUs give a value or a DlmsError`, async (t) => {
    fc.assert(fc.property(hostile, (b) => valueOrTyped(DlmsError, () => parse(b))), fuzzParams(500));
    t.pass('typed');
  });
}
