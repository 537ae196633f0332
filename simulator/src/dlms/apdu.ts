// The server side of the DLMS/COSEM APDUs the simulated meter handles (IEC 62056-5-3 §8): AARQ/AARE and
// RLRQ/RLRE (BER, ACSE), InitiateRequest/Response, GET (normal, next, with datablock), ACTION (normal),
// exception-response; and HLS-GMAC f() (DLMS UA Green Book §9.2.7.4, mechanism 5, security suite 0).
import { createCipheriv } from 'node:crypto';
import { SimulatorError } from '../errors.js';
import { decodeVal, encode, lengthBytes, type Val } from './axdr.js';

// BER (X.690) TLVs with one-byte tags and short/long definite lengths: all the ACSE APDUs need.
function tlvs(b: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (let p = 0; p < b.length; ) {
    const tag = b[p]!;
    let len = b[p + 1];
    let at = p + 2;
    if (len === undefined) throw new SimulatorError('APDU', 'BER length missing');
    if (len >= 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 2 || at + n > b.length) throw new SimulatorError('APDU', 'bad BER length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[at + i]!;
      at += n;
    }
    if (at + len > b.length) throw new SimulatorError('APDU', `BER value of tag 0x${tag.toString(16)} cut short`);
    out.set(tag, b.subarray(at, at + len));
    p = at + len;
  }
  return out;
}

const ber = (tag: number, value: Uint8Array | number[]): number[] => [tag, ...lengthBytes(value.length), ...value];
const inner = (v: Uint8Array | undefined, tag: number): Uint8Array | undefined => (v && v[0] === tag ? tlvs(v).get(tag) : undefined);

// IEC 62056-5-3 §7.2.2: {2 16 756 5 8 1 1} LN no ciphering; {2 16 756 5 8 2 n} mechanism n.
const OID_PREFIX_CONTEXT = [0x60, 0x85, 0x74, 0x05, 0x08, 0x01];
const OID_PREFIX_MECHANISM = [0x60, 0x85, 0x74, 0x05, 0x08, 0x02];

export interface Aarq {
  contextId: number;
  mechanism: number;
  callingApTitle?: Uint8Array;
  authValue?: Uint8Array;
  conformance: number; // 24 bits
  maxReceivePduSize: number;
  dlmsVersion: number;
}

export function parseAarq(apdu: Uint8Array): Aarq {
  const top = tlvs(apdu).get(0x60);
  if (!top) throw new SimulatorError('APDU', 'not an AARQ');
  const f = tlvs(top);
  const ctx = inner(f.get(0xa1), 0x06);
  if (!ctx || ctx.length !== 7 || OID_PREFIX_CONTEXT.some((x, i) => ctx[i] !== x)) throw new SimulatorError('APDU', 'AARQ without a DLMS application-context-name');
  const mech = f.get(0x8b);
  if (mech && (mech.length !== 7 || OID_PREFIX_MECHANISM.some((x, i) => mech[i] !== x))) throw new SimulatorError('APDU', 'unknown mechanism-name');
  const ui = inner(f.get(0xbe), 0x04);
  // InitiateRequest (A-XDR): 01, dedicated-key OPTIONAL, response-allowed DEFAULT, qos OPTIONAL, version,
  // conformance 5F 1F 04 00 b b b, client-max-receive-pdu-size Unsigned16 (IEC 62056-5-3 §8).
  if (!ui || ui[0] !== 0x01) throw new SimulatorError('APDU', 'AARQ without an InitiateRequest');
  let p = 1;
  if (ui[p] === 0x01) throw new SimulatorError('APDU', 'dedicated key (ciphering) is not supported');
  p++;
  if (ui[p++] === 0x01) p++;
  if (ui[p++] === 0x01) p++;
  const dlmsVersion = ui[p++]!;
  if (ui[p] !== 0x5f || ui[p + 1] !== 0x1f || ui[p + 2] !== 0x04 || p + 9 !== ui.length) throw new SimulatorError('APDU', 'bad conformance block');
  const conformance = (ui[p + 4]! << 16) | (ui[p + 5]! << 8) | ui[p + 6]!;
  const maxReceivePduSize = (ui[p + 7]! << 8) | ui[p + 8]!;
  const callingApTitle = inner(f.get(0xa6), 0x04);
  const authValue = inner(f.get(0xac), 0x80);
  return {
    contextId: ctx[6]!,
    mechanism: mech ? mech[6]! : 0,
    conformance,
    maxReceivePduSize,
    dlmsVersion,
    ...(callingApTitle ? { callingApTitle: callingApTitle.slice() } : {}),
    ...(authValue ? { authValue: authValue.slice() } : {}),
  };
}

export interface AareParams {
  result: 0 | 1 | 2;
  /** acse-service-user diagnostic: 0 null, 1 no-reason, 11 mechanism not recognised, 13 authentication-failure, 14 authentication-required. */
  diagnostic: number;
  mechanism: number;
  respondingApTitle?: Uint8Array;
  stoc?: Uint8Array;
  conformance: number;
  maxPdu: number;
}

export function encodeAare(a: AareParams): Uint8Array {
  const initiateResponse = [0x08, 0x00, 0x06, 0x5f, 0x1f, 0x04, 0x00, (a.conformance >> 16) & 0xff, (a.conformance >> 8) & 0xff, a.conformance & 0xff, a.maxPdu >> 8, a.maxPdu & 0xff, 0x00, 0x07];
  const body = [
    ...ber(0xa1, ber(0x06, [...OID_PREFIX_CONTEXT, 1])),
    ...ber(0xa2, ber(0x02, [a.result])),
    ...ber(0xa3, ber(0xa1, ber(0x02, [a.diagnostic]))),
    ...(a.respondingApTitle ? ber(0xa4, ber(0x04, a.respondingApTitle)) : []),
    ...(a.mechanism > 0 ? [...ber(0x88, [0x07, 0x80]), ...ber(0x89, [...OID_PREFIX_MECHANISM, a.mechanism])] : []),
    ...(a.stoc ? ber(0xaa, ber(0x80, a.stoc)) : []),
    ...(a.result === 0 ? ber(0xbe, ber(0x04, initiateResponse)) : []),
  ];
  return Uint8Array.from(ber(0x61, body));
}

export const RLRE = Uint8Array.of(0x63, 0x03, 0x80, 0x01, 0x00); // reason normal(0)

export type CosemRequest =
  | { kind: 'get'; iip: number; classId: number; obis: string; attribute: number; access?: { selector: number; parameters: Val } }
  | { kind: 'get-next'; iip: number; block: number }
  | { kind: 'action'; iip: number; classId: number; obis: string; method: number; parameters?: Val };

const obisText = (b: Uint8Array): string => Array.from(b).join('.');

/** Parses a GET or ACTION request; SimulatorError APDU for anything else or malformed. */
export function parseRequest(b: Uint8Array): CosemRequest {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[0] === 0xc0 && b[1] === 0x02 && b.length === 7) return { kind: 'get-next', iip: b[2]!, block: v.getUint32(3) };
  if ((b[0] !== 0xc0 && b[0] !== 0xc3) || b[1] !== 0x01 || b.length < 13) throw new SimulatorError('APDU', `not a GET/ACTION normal request (0x${(b[0] ?? 0).toString(16)})`);
  const base = { iip: b[2]!, classId: v.getUint16(3), obis: obisText(b.subarray(5, 11)) };
  const rest = (at: number): Val => {
    const r = decodeVal(b, at);
    if (r.next !== b.length) throw new SimulatorError('APDU', 'bytes after the request');
    return r.value;
  };
  if (b[0] === 0xc3) {
    const method = b[11]!;
    if (b[12] === 0x00 && b.length === 13) return { kind: 'action', ...base, method };
    if (b[12] !== 0x01) throw new SimulatorError('APDU', 'bad method-invocation-parameters flag');
    return { kind: 'action', ...base, method, parameters: rest(13) };
  }
  const attribute = b[11]!;
  if (b[12] === 0x00 && b.length === 13) return { kind: 'get', ...base, attribute };
  if (b[12] !== 0x01 || b.length < 15) throw new SimulatorError('APDU', 'bad access-selection');
  return { kind: 'get', ...base, attribute, access: { selector: b[13]!, parameters: rest(14) } };
}

export const getResponseData = (iip: number, data: Uint8Array): Uint8Array => Uint8Array.from([0xc4, 0x01, iip, 0x00, ...data]);
export const getResponseError = (iip: number, result: number): Uint8Array => Uint8Array.of(0xc4, 0x01, iip, 0x01, result);
export function getResponseBlock(iip: number, last: boolean, block: number, raw: Uint8Array): Uint8Array {
  return Uint8Array.from([0xc4, 0x02, iip, last ? 1 : 0, (block >>> 24) & 0xff, (block >>> 16) & 0xff, (block >>> 8) & 0xff, block & 0xff, 0x00, ...lengthBytes(raw.length), ...raw]);
}
export const actionResponse = (iip: number, result: number, data?: Val): Uint8Array =>
  Uint8Array.from([0xc7, 0x01, iip, result, ...(data ? [0x01, 0x00, ...encode(data)] : [0x00])]);
/** Exception-Response (tag 216): state-error, service-error. */
export const exceptionResponse = (stateError: number, serviceError: number): Uint8Array => Uint8Array.of(0xd8, stateError, serviceError);

/** f(challenge) = SC 0x10 || IC || GMAC(SC || AK || challenge), IV = system title || IC (Green Book §9.2.7.4). */
export function gmacF(challenge: Uint8Array, ak: Uint8Array, ek: Uint8Array, systemTitle: Uint8Array, ic: number): Uint8Array {
  const iv = Buffer.alloc(12);
  Buffer.from(systemTitle).copy(iv, 0, 0, 8);
  iv.writeUInt32BE(ic >>> 0, 8);
  const gcm = createCipheriv('aes-128-gcm', ek, iv, { authTagLength: 12 });
  gcm.setAAD(Buffer.concat([Buffer.of(0x10), ak, challenge]));
  gcm.final();
  const head = Buffer.alloc(5);
  head[0] = 0x10;
  head.writeUInt32BE(ic >>> 0, 1);
  return new Uint8Array(Buffer.concat([head, gcm.getAuthTag()]));
}
