// ACSE APDUs for DLMS/COSEM (IEC 62056-5-3 §8, "ACSE APDUs", after ISO/IEC 8650-1), BER-encoded:
//   AARQ ::= [APPLICATION 0] { application-context-name [1], calling-AP-title [6], sender-acse-requirements
//     [10], mechanism-name [11], calling-authentication-value [12], user-information [30] }  (the fields used)
//   AARE ::= [APPLICATION 1] { application-context-name [1], result [2], result-source-diagnostic [3],
//     responding-AP-title [4], responder-acse-requirements [8], mechanism-name [9],
//     responding-authentication-value [10], user-information [30] }
//   RLRQ ::= [APPLICATION 2] { reason [0], user-information [30] }, RLRE ::= [APPLICATION 3] (the same)
// user-information is an OCTET STRING holding an A-XDR xDLMS APDU (InitiateRequest/Response, initiate.ts).
import { DlmsError } from '../errors.js';
import { concat, decodeOid, decodeUint, encodeOid, readOne, readTlvs, tlv } from './ber.js';
import {
  XDLMS_TAG,
  encodeInitiateRequest,
  parseConfirmedServiceError,
  parseInitiateRequest,
  parseInitiateResponse,
  type ConfirmedServiceError,
  type InitiateRequest,
  type InitiateResponse,
} from './initiate.js';

// IEC 62056-5-3 §7.2.2 (COSEM application context and authentication mechanism names): {joint-iso-ccitt(2) country(16)
// country-name(756) identified-organization(5) DLMS-UA(8) application-context(1) context_id(1..4)}.
export const APPLICATION_CONTEXT = {
  lnNoCiphering: '2.16.756.5.8.1.1',
  snNoCiphering: '2.16.756.5.8.1.2',
  lnCiphering: '2.16.756.5.8.1.3',
  snCiphering: '2.16.756.5.8.1.4',
} as const;
// … and authentication mechanism names {… DLMS-UA(8) authentication-mechanism-name(2) mechanism_id(0..7)}.
export const MECHANISM = {
  lowest: '2.16.756.5.8.2.0',
  low: '2.16.756.5.8.2.1',
  high: '2.16.756.5.8.2.2',
  highMd5: '2.16.756.5.8.2.3',
  highSha1: '2.16.756.5.8.2.4',
  highGmac: '2.16.756.5.8.2.5',
  highSha256: '2.16.756.5.8.2.6',
  highEcdsa: '2.16.756.5.8.2.7',
} as const;

// BER identifiers: [APPLICATION n] constructed = 0x60 | n; [n] context constructed = 0xA0 | n, primitive 0x80 | n.
const TAG = { aarq: 0x60, aare: 0x61, rlrq: 0x62, rlre: 0x63, userInformation: 0xbe, octetString: 0x04, integer: 0x02, oid: 0x06 } as const;

export interface AarqParams {
  applicationContext?: string;
  callingApTitle?: Uint8Array;
  /** Low-level security (LLS): the password travels in calling-authentication-value. */
  password?: Uint8Array | string;
  /** High-level security with GMAC (mechanism 5): the client's challenge CtoS; callingApTitle is then the
   *  client system title (Green Book §9.2.7.4, HLS pass 1). Excludes `password`. */
  hlsChallenge?: Uint8Array;
  initiate: InitiateRequest;
}

const bytesOf = (p: Uint8Array | string): Uint8Array => (typeof p === 'string' ? new TextEncoder().encode(p) : p);
const userInformation = (xdlms: Uint8Array) => tlv(TAG.userInformation, tlv(TAG.octetString, xdlms));

export function encodeAarq(p: AarqParams): Uint8Array {
  const fields = [tlv(0xa1, tlv(TAG.oid, encodeOid(p.applicationContext ?? APPLICATION_CONTEXT.lnNoCiphering)))];
  if (p.callingApTitle) fields.push(tlv(0xa6, tlv(TAG.octetString, p.callingApTitle)));
  if (p.hlsChallenge !== undefined) {
    if (p.password !== undefined) throw new DlmsError('VALUE', 'an AARQ carries a password (LLS) or an HLS challenge, not both');
    if (!p.callingApTitle) throw new DlmsError('VALUE', 'HLS-GMAC needs the client system title in calling-AP-title');
    fields.push(tlv(0x8a, Uint8Array.of(0x07, 0x80))); // sender-acse-requirements: authentication(0) = 1
    fields.push(tlv(0x8b, encodeOid(MECHANISM.highGmac))); // mechanism-name: high-level-security-gmac (5)
    fields.push(tlv(0xac, tlv(0x80, p.hlsChallenge))); // calling-authentication-value charstring [0]: CtoS
  } else if (p.password !== undefined) {
    fields.push(tlv(0x8a, Uint8Array.of(0x07, 0x80))); // ACSE-requirements BIT STRING: 7 unused bits, authentication(0) = 1
    fields.push(tlv(0x8b, encodeOid(MECHANISM.low))); // mechanism-name [11] IMPLICIT OBJECT IDENTIFIER
    fields.push(tlv(0xac, tlv(0x80, bytesOf(p.password)))); // Authentication-value CHOICE charstring [0] IMPLICIT GraphicString
  }
  fields.push(userInformation(encodeInitiateRequest(p.initiate)));
  return tlv(TAG.aarq, concat(fields));
}

/** The fields of an AARQ (for servers and tests). */
export function parseAarq(b: Uint8Array): Omit<AarqParams, 'initiate' | 'applicationContext'> & {
  applicationContext: string;
  mechanismName?: string;
  initiate: ReturnType<typeof parseInitiateRequest>;
} {
  let applicationContext: string | undefined;
  let initiate: ReturnType<typeof parseInitiateRequest> | undefined;
  const out: { callingApTitle?: Uint8Array; password?: Uint8Array; mechanismName?: string } = {};
  for (const { tag, value } of readTlvs(readOne(b, TAG.aarq, 'AARQ'))) {
    if (tag === 0xa1) applicationContext = decodeOid(readOne(value, TAG.oid, 'application-context-name'));
    else if (tag === 0xa6) out.callingApTitle = readOne(value, TAG.octetString, 'calling-AP-title').slice();
    else if (tag === 0x8b) out.mechanismName = decodeOid(value);
    else if (tag === 0xac) out.password = readOne(value, 0x80, 'calling-authentication-value').slice();
    else if (tag === TAG.userInformation) initiate = parseInitiateRequest(readOne(value, TAG.octetString, 'user-information'));
  }
  if (!applicationContext || !initiate) throw new DlmsError('APDU', 'AARQ without application-context-name or InitiateRequest');
  return { applicationContext, initiate, ...out };
}

// IEC 62056-5-3 §8: Association-result ::= INTEGER { accepted(0), rejected-permanent(1), rejected-transient(2) }
export const ASSOCIATION_RESULT = ['accepted', 'rejected-permanent', 'rejected-transient'] as const;
// Associate-source-diagnostic ::= CHOICE { acse-service-user [1] INTEGER {…}, acse-service-provider [2] INTEGER {…} }
export const ACSE_SERVICE_USER = [
  'null', 'no-reason-given', 'application-context-name-not-supported', 'calling-AP-title-not-recognized',
  'calling-AP-invocation-identifier-not-recognized', 'calling-AE-qualifier-not-recognized',
  'calling-AE-invocation-identifier-not-recognized', 'called-AP-title-not-recognized',
  'called-AP-invocation-identifier-not-recognized', 'called-AE-qualifier-not-recognized',
  'called-AE-invocation-identifier-not-recognized', 'authentication-mechanism-name-not-recognised',
  'authentication-mechanism-name-required', 'authentication-failure', 'authentication-required',
] as const;
export const ACSE_SERVICE_PROVIDER = ['null', 'no-reason-given', 'no-common-acse-version'] as const;

export interface SourceDiagnostic {
  source: 'acse-service-user' | 'acse-service-provider';
  value: number;
  name: string;
}

export interface Aare {
  applicationContext: string;
  result: number;
  resultName: string;
  diagnostic: SourceDiagnostic;
  respondingApTitle?: Uint8Array;
  mechanismName?: string;
  respondingAuthenticationValue?: Uint8Array;
  /** user-information: the server's InitiateResponse, or its ConfirmedServiceError. */
  initiateResponse?: InitiateResponse;
  serviceError?: ConfirmedServiceError;
}

function integer(value: Uint8Array, what: string): number {
  return decodeUint(readOne(value, TAG.integer, what), what);
}

function parseUserInformation(value: Uint8Array): Pick<Aare, 'initiateResponse' | 'serviceError'> {
  const xdlms = readOne(value, TAG.octetString, 'user-information');
  switch (xdlms[0]) {
    case XDLMS_TAG.initiateResponse:
      return { initiateResponse: parseInitiateResponse(xdlms) };
    case XDLMS_TAG.confirmedServiceError:
      return { serviceError: parseConfirmedServiceError(xdlms) };
    case XDLMS_TAG.gloInitiateResponse:
      throw new DlmsError('UNSUPPORTED', 'ciphered InitiateResponse (glo-initiateResponse): ciphering is not supported');
    default:
      throw new DlmsError('APDU', `unexpected xDLMS APDU 0x${(xdlms[0] ?? 0).toString(16)} in AARE user-information`);
  }
}

export function parseAare(b: Uint8Array): Aare {
  const out: Partial<Aare> = {};
  for (const { tag, value } of readTlvs(readOne(b, TAG.aare, 'AARE'))) {
    switch (tag) {
      case 0xa1:
        out.applicationContext = decodeOid(readOne(value, TAG.oid, 'application-context-name'));
        break;
      case 0xa2:
        out.result = integer(value, 'result');
        out.resultName = ASSOCIATION_RESULT[out.result] ?? `result-${out.result}`;
        break;
      case 0xa3: {
        const [choice, ...more] = readTlvs(value);
        if (!choice || more.length > 0 || (choice.tag !== 0xa1 && choice.tag !== 0xa2)) throw new DlmsError('BER', 'result-source-diagnostic is not [1] or [2]');
        const user = choice.tag === 0xa1;
        const v = integer(choice.value, 'result-source-diagnostic');
        const names: readonly string[] = user ? ACSE_SERVICE_USER : ACSE_SERVICE_PROVIDER;
        out.diagnostic = { source: user ? 'acse-service-user' : 'acse-service-provider', value: v, name: names[v] ?? `diagnostic-${v}` };
        break;
      }
      case 0xa4:
        out.respondingApTitle = readOne(value, TAG.octetString, 'responding-AP-title').slice();
        break;
      case 0x89:
        out.mechanismName = decodeOid(value);
        break;
      case 0xaa:
        out.respondingAuthenticationValue = readTlvs(value)[0]?.value.slice();
        break;
      case TAG.userInformation:
        Object.assign(out, parseUserInformation(value));
        break;
      default: // protocol-version, AE qualifiers and invocation ids, acse-requirements, implementation-information
    }
  }
  if (out.applicationContext === undefined || out.result === undefined || out.diagnostic === undefined) {
    throw new DlmsError('APDU', 'AARE without application-context-name, result or result-source-diagnostic');
  }
  return out as Aare;
}

// Release-request-reason ::= INTEGER { normal(0), urgent(1), user-defined(30) }; the response: normal(0),
// not-finished(1), user-defined(30).
export interface Rlrq {
  reason?: number;
  /** The InitiateRequest to send again in user-information (as some clients do), if any. */
  initiate?: InitiateRequest;
}

export function encodeRlrq(r: Rlrq = {}): Uint8Array {
  const fields: Uint8Array[] = [];
  if (r.reason !== undefined) fields.push(tlv(0x80, Uint8Array.of(r.reason))); // reason [0] IMPLICIT
  if (r.initiate) fields.push(userInformation(encodeInitiateRequest(r.initiate)));
  return tlv(TAG.rlrq, concat(fields));
}

export interface Rlre {
  reason?: number;
  initiateResponse?: InitiateResponse;
}

export function parseRlre(b: Uint8Array): Rlre {
  const out: Rlre = {};
  for (const { tag, value } of readTlvs(readOne(b, TAG.rlre, 'RLRE'))) {
    if (tag === 0x80) out.reason = decodeUint(value, 'reason');
    else if (tag === TAG.userInformation) {
      const ui = parseUserInformation(value);
      if (ui.initiateResponse) out.initiateResponse = ui.initiateResponse;
    }
  }
  return out;
}
