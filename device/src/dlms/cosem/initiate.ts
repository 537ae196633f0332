// xDLMS InitiateRequest / InitiateResponse / ConfirmedServiceError (IEC 62056-5-3 §8, xDLMS APDUs), which
// travel A-XDR encoded in the user-information field of AARQ/AARE. A-XDR (IEC 61334-6): OPTIONAL is a
// 0x00 (absent) or 0x01 (present) octet before the value; DEFAULT is 0x00 (the default) or 0x01 + value.
import { DlmsError } from '../errors.js';
import { decodeLength, encodeLength } from '../axdr/length.js';
import { concat } from './ber.js';
import { decodeConformance, encodeConformance, type ConformanceBit } from './conformance.js';

// IEC 62056-5-3 §8, xDLMS-APDU CHOICE tags used here.
export const XDLMS_TAG = { initiateRequest: 0x01, initiateResponse: 0x08, confirmedServiceError: 0x0e, gloInitiateResponse: 0x28 } as const;

export interface InitiateRequest {
  dedicatedKey?: Uint8Array;
  /** DEFAULT TRUE. */
  responseAllowed?: boolean;
  proposedQualityOfService?: number;
  /** Default 6 (DLMS version 6). */
  dlmsVersion?: number;
  conformance: readonly ConformanceBit[];
  /** Default 0xFFFF; 0 would mean "no limit" only in some profiles, so it is refused. */
  maxReceivePduSize?: number;
}

export interface InitiateResponse {
  negotiatedQualityOfService?: number;
  dlmsVersion: number;
  conformance: ConformanceBit[];
  maxReceivePduSize: number;
  /** 0x0007 for LN referencing (IEC 62056-5-3 §8: vaa-name ObjectName). */
  vaaName: number;
}

export function encodeInitiateRequest(r: InitiateRequest): Uint8Array {
  const max = r.maxReceivePduSize ?? 0xffff;
  const version = r.dlmsVersion ?? 6;
  if (!Number.isInteger(max) || max < 12 || max > 0xffff) throw new DlmsError('VALUE', `client-max-receive-pdu-size out of range: ${max}`);
  if (!Number.isInteger(version) || version < 0 || version > 255) throw new DlmsError('VALUE', `dlms version out of range: ${version}`);
  const qos = r.proposedQualityOfService;
  if (qos !== undefined && (!Number.isInteger(qos) || qos < -128 || qos > 127)) throw new DlmsError('VALUE', `quality of service out of range: ${qos}`);
  return concat([
    Uint8Array.of(XDLMS_TAG.initiateRequest),
    r.dedicatedKey ? concat([Uint8Array.of(0x01), encodeLength(r.dedicatedKey.length), r.dedicatedKey]) : Uint8Array.of(0x00),
    r.responseAllowed === false ? Uint8Array.of(0x01, 0x00) : Uint8Array.of(0x00), // DEFAULT TRUE
    qos === undefined ? Uint8Array.of(0x00) : Uint8Array.of(0x01, qos & 0xff),
    Uint8Array.of(version),
    encodeConformance(r.conformance),
    Uint8Array.of(max >> 8, max & 0xff),
  ]);
}

class Cursor {
  pos = 0;
  constructor(readonly b: Uint8Array, readonly what: string) {}
  u8(): number {
    const v = this.b[this.pos++];
    if (v === undefined) throw new DlmsError('SHORT', `${this.what} cut short`);
    return v;
  }
  u16(): number {
    return this.u8() * 256 + this.u8();
  }
  present(): boolean {
    const flag = this.u8();
    if (flag > 1) throw new DlmsError('APDU', `${this.what}: optional flag ${flag}`);
    return flag === 1;
  }
  end(): void {
    if (this.pos !== this.b.length) throw new DlmsError('LENGTH', `${this.b.length - this.pos} bytes after the ${this.what}`);
  }
}

export function parseInitiateRequest(b: Uint8Array): Required<Omit<InitiateRequest, 'dedicatedKey' | 'proposedQualityOfService'>> & InitiateRequest {
  const c = new Cursor(b, 'InitiateRequest');
  if (c.u8() !== XDLMS_TAG.initiateRequest) throw new DlmsError('APDU', 'not an InitiateRequest');
  const out: ReturnType<typeof parseInitiateRequest> = { responseAllowed: true, dlmsVersion: 0, conformance: [], maxReceivePduSize: 0 };
  if (c.present()) {
    const [n, next] = decodeLength(b, c.pos);
    if (next + n > b.length) throw new DlmsError('SHORT', 'dedicated key cut short');
    out.dedicatedKey = b.slice(next, next + n);
    c.pos = next + n;
  }
  if (c.present()) out.responseAllowed = c.u8() !== 0;
  if (c.present()) out.proposedQualityOfService = (c.u8() << 24) >> 24;
  out.dlmsVersion = c.u8();
  out.conformance = decodeConformance(b, c.pos);
  c.pos += 7;
  out.maxReceivePduSize = c.u16();
  c.end();
  return out;
}

export function encodeInitiateResponse(r: InitiateResponse): Uint8Array {
  return concat([
    Uint8Array.of(XDLMS_TAG.initiateResponse),
    r.negotiatedQualityOfService === undefined ? Uint8Array.of(0x00) : Uint8Array.of(0x01, r.negotiatedQualityOfService & 0xff),
    Uint8Array.of(r.dlmsVersion),
    encodeConformance(r.conformance),
    Uint8Array.of(r.maxReceivePduSize >> 8, r.maxReceivePduSize & 0xff, r.vaaName >> 8, r.vaaName & 0xff),
  ]);
}

export function parseInitiateResponse(b: Uint8Array): InitiateResponse {
  const c = new Cursor(b, 'InitiateResponse');
  if (c.u8() !== XDLMS_TAG.initiateResponse) throw new DlmsError('APDU', 'not an InitiateResponse');
  const negotiatedQualityOfService = c.present() ? (c.u8() << 24) >> 24 : undefined;
  const dlmsVersion = c.u8();
  const conformance = decodeConformance(b, c.pos);
  c.pos += 7;
  const maxReceivePduSize = c.u16();
  const vaaName = c.u16();
  c.end();
  return { ...(negotiatedQualityOfService === undefined ? {} : { negotiatedQualityOfService }), dlmsVersion, conformance, maxReceivePduSize, vaaName };
}

// IEC 62056-5-3 §8: ServiceError ::= CHOICE { application-reference [0], hardware-resource [1],
// vde-state-error [2], service [3], definition [4], access [5], initiate [6], load-data-set [7],
// change-scope [8], task [9], other [10] }, each an ENUMERATED.
export const SERVICE_ERROR = [
  'application-reference', 'hardware-resource', 'vde-state-error', 'service', 'definition', 'access',
  'initiate', 'load-data-set', 'change-scope', 'task', 'other',
] as const;
// initiate [6] ENUMERATED values
export const INITIATE_ERROR = ['other', 'dlms-version-too-low', 'incompatible-conformance', 'pdu-size-too-short', 'refused-by-the-VDE-Handler'] as const;

export interface ConfirmedServiceError {
  /** ConfirmedServiceError CHOICE tag: 1 = initiateError, 5 = read, 6 = write, … */
  service: number;
  /** ServiceError CHOICE tag and its name. */
  errorType: number;
  errorTypeName: string;
  value: number;
  /** e.g. "initiate: dlms-version-too-low". */
  text: string;
}

export function parseConfirmedServiceError(b: Uint8Array): ConfirmedServiceError {
  const c = new Cursor(b, 'ConfirmedServiceError');
  if (c.u8() !== XDLMS_TAG.confirmedServiceError) throw new DlmsError('APDU', 'not a ConfirmedServiceError');
  const service = c.u8();
  const errorType = c.u8();
  const value = c.u8();
  c.end();
  const errorTypeName = SERVICE_ERROR[errorType] ?? `service-error-${errorType}`;
  const valueName = errorType === 6 ? (INITIATE_ERROR[value] ?? String(value)) : String(value);
  return { service, errorType, errorTypeName, value, text: `${errorTypeName}: ${valueName}` };
}
