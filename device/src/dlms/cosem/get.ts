// xDLMS GET service APDUs (IEC 62056-5-3 §8, "COSEM APDUs"), A-XDR encoded:
//   Get-Request ::= CHOICE { get-request-normal [1], get-request-next [2], get-request-with-list [3] }  tag 192
//   Get-Request-Normal ::= { invoke-id-and-priority, cosem-attribute-descriptor, access-selection OPTIONAL }
//   Get-Request-Next ::= { invoke-id-and-priority, block-number Unsigned32 }
//   Get-Response ::= CHOICE { get-response-normal [1], get-response-with-datablock [2], … }  tag 196
//   Get-Response-Normal ::= { invoke-id-and-priority, result Get-Data-Result }
//   Get-Data-Result ::= CHOICE { data [0] Data, data-access-result [1] IMPLICIT Data-Access-Result }
//   Get-Response-With-Datablock ::= { invoke-id-and-priority, result DataBlock-G }
//   DataBlock-G ::= { last-block BOOLEAN, block-number Unsigned32,
//                     result CHOICE { raw-data [0] IMPLICIT OCTET STRING, data-access-result [1] IMPLICIT … } }
//   Exception-Response ::= { state-error [0] IMPLICIT ENUMERATED, service-error [1] IMPLICIT ENUMERATED }  tag 216
import { DlmsError } from '../errors.js';
import { decodeData, encodeData, decodeLength, encodeLength, type Data, type DataLimits } from '../axdr/index.js';
import { concat } from './ber.js';

export const APDU_TAG = { getRequest: 0xc0, getResponse: 0xc4, exceptionResponse: 0xd8 } as const;

export interface AttributeDescriptor {
  classId: number;
  /** The logical name (OBIS code), 6 octets. */
  instance: Uint8Array;
  attributeId: number;
}

/** Selective-Access-Descriptor ::= { access-selector Unsigned8, access-parameters Data }. */
export interface SelectiveAccess {
  selector: number;
  parameters: Data;
}

/**
 * Invoke-Id-And-Priority (IEC 62056-5-3 §8): bits 0..3 invoke-id, bit 6 service-class (1 = confirmed),
 * bit 7 priority (1 = high). 0xC1 = invoke-id 1, confirmed, high priority (as the captured clients send).
 */
export function invokeIdAndPriority(invokeId: number, highPriority = true, confirmed = true): number {
  if (!Number.isInteger(invokeId) || invokeId < 0 || invokeId > 15) throw new DlmsError('VALUE', `invoke-id out of range: ${invokeId}`);
  return (highPriority ? 0x80 : 0) | (confirmed ? 0x40 : 0) | invokeId;
}

function u16(v: number, what: string): [number, number] {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new DlmsError('VALUE', `${what} out of range: ${v}`);
  return [v >> 8, v & 0xff];
}

export function encodeGetRequestNormal(iip: number, d: AttributeDescriptor, access?: SelectiveAccess): Uint8Array {
  if (d.instance.length !== 6) throw new DlmsError('VALUE', 'instance-id is an OCTET STRING (SIZE(6))');
  if (!Number.isInteger(d.attributeId) || d.attributeId < -128 || d.attributeId > 127) throw new DlmsError('VALUE', `attribute-id out of range: ${d.attributeId}`);
  const head = Uint8Array.of(APDU_TAG.getRequest, 0x01, iip, ...u16(d.classId, 'class-id'), ...d.instance, d.attributeId & 0xff);
  if (!access) return concat([head, Uint8Array.of(0x00)]); // access-selection absent
  if (!Number.isInteger(access.selector) || access.selector < 0 || access.selector > 255) throw new DlmsError('VALUE', `access-selector out of range: ${access.selector}`);
  return concat([head, Uint8Array.of(0x01, access.selector), encodeData(access.parameters)]);
}

export function encodeGetRequestNext(iip: number, blockNumber: number): Uint8Array {
  if (!Number.isInteger(blockNumber) || blockNumber < 0 || blockNumber > 0xffffffff) throw new DlmsError('VALUE', `block-number out of range: ${blockNumber}`);
  const b = Uint8Array.of(APDU_TAG.getRequest, 0x02, iip, 0, 0, 0, 0);
  new DataView(b.buffer).setUint32(3, blockNumber);
  return b;
}

// IEC 62056-5-3 §8, Data-Access-Result ::= ENUMERATED
export const DATA_ACCESS_RESULT: Readonly<Record<number, string>> = {
  0: 'success', 1: 'hardware-fault', 2: 'temporary-failure', 3: 'read-write-denied', 4: 'object-undefined',
  9: 'object-class-inconsistent', 11: 'object-unavailable', 12: 'type-unmatched', 13: 'scope-of-access-violated',
  14: 'data-block-unavailable', 15: 'long-get-aborted', 16: 'no-long-get-in-progress', 17: 'long-set-aborted',
  18: 'no-long-set-in-progress', 19: 'data-block-number-invalid', 250: 'other-reason',
};

export type GetResponse =
  | { kind: 'normal'; invokeIdAndPriority: number; data: Data; /** bytes after the Data value */ trailing: number }
  | { kind: 'normal'; invokeIdAndPriority: number; accessResult: number }
  | { kind: 'datablock'; invokeIdAndPriority: number; lastBlock: boolean; blockNumber: number; raw: Uint8Array }
  | { kind: 'datablock'; invokeIdAndPriority: number; lastBlock: boolean; blockNumber: number; accessResult: number };

// Exception-Response: state-error { service-not-allowed(1), service-unknown(2) }, service-error
// { operation-not-possible(1), service-not-supported(2), other-reason(3), pdu-too-long(4),
// deciphering-error(5), invocation-counter-error(6) }
export const STATE_ERROR: Readonly<Record<number, string>> = { 1: 'service-not-allowed', 2: 'service-unknown' };
export const EXCEPTION_SERVICE_ERROR: Readonly<Record<number, string>> = {
  1: 'operation-not-possible', 2: 'service-not-supported', 3: 'other-reason', 4: 'pdu-too-long', 5: 'deciphering-error', 6: 'invocation-counter-error',
};

export interface ExceptionResponse {
  stateError: number;
  serviceError: number;
  text: string;
}

export function parseExceptionResponse(b: Uint8Array): ExceptionResponse {
  if (b[0] !== APDU_TAG.exceptionResponse) throw new DlmsError('APDU', 'not an exception-response');
  if (b.length < 3) throw new DlmsError('SHORT', 'exception-response cut short');
  // Later editions append an invocation counter after service-error 6; anything after is ignored.
  const stateError = b[1]!;
  const serviceError = b[2]!;
  return { stateError, serviceError, text: `${STATE_ERROR[stateError] ?? stateError} / ${EXCEPTION_SERVICE_ERROR[serviceError] ?? serviceError}` };
}

/** Parses a Get-Response (normal or with-datablock). The Data of a normal response is decoded. */
export function parseGetResponse(b: Uint8Array, limits: DataLimits = {}): GetResponse {
  if (b[0] !== APDU_TAG.getResponse) throw new DlmsError('APDU', `not a Get-Response: tag 0x${(b[0] ?? 0).toString(16)}`);
  if (b.length < 4) throw new DlmsError('SHORT', 'Get-Response cut short');
  const choice = b[1]!;
  const invokeIdAndPriority = b[2]!;
  if (choice === 0x01) {
    const which = b[3]!;
    if (which === 0x00) {
      const { value, rest } = decodeData(b.subarray(4), limits);
      return { kind: 'normal', invokeIdAndPriority, data: value, trailing: rest.length };
    }
    if (which === 0x01) return { kind: 'normal', invokeIdAndPriority, accessResult: enumAt(b, 4) };
    throw new DlmsError('APDU', `Get-Data-Result choice ${which}`);
  }
  if (choice === 0x02) {
    if (b.length < 9) throw new DlmsError('SHORT', 'DataBlock-G cut short');
    const lastBlock = b[3]! !== 0;
    const blockNumber = new DataView(b.buffer, b.byteOffset).getUint32(4);
    const which = b[8]!;
    if (which === 0x01) return { kind: 'datablock', invokeIdAndPriority, lastBlock, blockNumber, accessResult: enumAt(b, 9) };
    if (which !== 0x00) throw new DlmsError('APDU', `DataBlock-G result choice ${which}`);
    const [n, at] = decodeLength(b, 9);
    if (at + n !== b.length) throw new DlmsError('LENGTH', `raw-data of ${n} bytes in ${b.length - at}`);
    return { kind: 'datablock', invokeIdAndPriority, lastBlock, blockNumber, raw: b.subarray(at) };
  }
  if (choice === 0x03) throw new DlmsError('UNSUPPORTED', 'get-response-with-list');
  throw new DlmsError('APDU', `Get-Response choice ${choice}`);
}

function enumAt(b: Uint8Array, i: number): number {
  const v = b[i];
  if (v === undefined) throw new DlmsError('SHORT', 'data-access-result missing');
  return v;
}

// For scripted servers in tests and simulators: the server side of the same APDUs.
export function encodeGetResponseNormal(iip: number, result: { data: Data } | { accessResult: number }): Uint8Array {
  const head = Uint8Array.of(APDU_TAG.getResponse, 0x01, iip);
  return 'data' in result ? concat([head, Uint8Array.of(0x00), encodeData(result.data)]) : concat([head, Uint8Array.of(0x01, result.accessResult)]);
}

export function encodeGetResponseBlock(iip: number, lastBlock: boolean, blockNumber: number, raw: Uint8Array): Uint8Array {
  const head = Uint8Array.of(APDU_TAG.getResponse, 0x02, iip, lastBlock ? 1 : 0, 0, 0, 0, 0, 0x00);
  new DataView(head.buffer).setUint32(4, blockNumber);
  return concat([head, encodeLength(raw.length), raw]);
}

export type GetRequest =
  | { kind: 'normal'; invokeIdAndPriority: number; descriptor: AttributeDescriptor; access?: SelectiveAccess }
  | { kind: 'next'; invokeIdAndPriority: number; blockNumber: number };

/** The server side: parses a Get-Request-Normal or Get-Request-Next. */
export function parseGetRequest(b: Uint8Array): GetRequest {
  if (b[0] !== APDU_TAG.getRequest) throw new DlmsError('APDU', 'not a Get-Request');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[1] === 0x02 && b.length === 7) return { kind: 'next', invokeIdAndPriority: b[2]!, blockNumber: v.getUint32(3) };
  if (b[1] !== 0x01 || b.length < 13) throw new DlmsError('APDU', 'not a Get-Request-Normal or -Next');
  const descriptor = { classId: v.getUint16(3), instance: b.slice(5, 11), attributeId: v.getInt8(11) };
  if (b[12] === 0x00 && b.length === 13) return { kind: 'normal', invokeIdAndPriority: b[2]!, descriptor };
  if (b[12] !== 0x01 || b.length < 15) throw new DlmsError('APDU', 'bad access-selection');
  const { value, rest } = decodeData(b.subarray(14));
  if (rest.length > 0) throw new DlmsError('LENGTH', 'bytes after access-parameters');
  return { kind: 'normal', invokeIdAndPriority: b[2]!, descriptor, access: { selector: b[13]!, parameters: value } };
}
