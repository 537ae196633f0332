// xDLMS ACTION service APDUs (IEC 62056-5-3 §8, "COSEM APDUs"), A-XDR encoded, as HLS needs them:
//   Action-Request ::= CHOICE { action-request-normal [1], … }  tag 195
//   Action-Request-Normal ::= { invoke-id-and-priority, cosem-method-descriptor, method-invocation-parameters Data OPTIONAL }
//   Cosem-Method-Descriptor ::= { class-id Unsigned16, instance-id OCTET STRING (SIZE(6)), method-id Integer8 }
//   Action-Response ::= CHOICE { action-response-normal [1], … }  tag 199
//   Action-Response-Normal ::= { invoke-id-and-priority, single-response Action-Response-With-Optional-Data }
//   Action-Response-With-Optional-Data ::= { result Action-Result, return-parameters Get-Data-Result OPTIONAL }
import { DlmsError } from '../errors.js';
import { decodeData, encodeData, type Data, type DataLimits } from '../axdr/index.js';
import { concat } from './ber.js';
import { obis, type ObisInput } from './obis.js';

export const ACTION_TAG = { request: 0xc3, response: 0xc7 } as const;

// IEC 62056-5-3 §8, Action-Result ::= ENUMERATED
export const ACTION_RESULT: Readonly<Record<number, string>> = {
  0: 'success', 1: 'hardware-fault', 2: 'temporary-failure', 3: 'read-write-denied', 4: 'object-undefined',
  9: 'object-class-inconsistent', 11: 'object-unavailable', 12: 'type-unmatched', 13: 'scope-of-access-violated',
  14: 'data-block-unavailable', 15: 'long-action-aborted', 16: 'no-long-action-in-progress', 250: 'other-reason',
};

export interface MethodDescriptor {
  classId: number;
  instance: ObisInput;
  methodId: number;
}

export function encodeActionRequestNormal(iip: number, m: MethodDescriptor, parameters?: Data): Uint8Array {
  if (!Number.isInteger(m.classId) || m.classId < 0 || m.classId > 0xffff) throw new DlmsError('VALUE', `class-id out of range: ${m.classId}`);
  if (!Number.isInteger(m.methodId) || m.methodId < -128 || m.methodId > 127) throw new DlmsError('VALUE', `method-id out of range: ${m.methodId}`);
  const head = Uint8Array.of(ACTION_TAG.request, 0x01, iip, m.classId >> 8, m.classId & 0xff, ...obis(m.instance), m.methodId & 0xff);
  return parameters === undefined ? concat([head, Uint8Array.of(0x00)]) : concat([head, Uint8Array.of(0x01), encodeData(parameters)]);
}

export interface ActionRequest {
  invokeIdAndPriority: number;
  classId: number;
  instance: Uint8Array;
  methodId: number;
  parameters?: Data;
}

/** The server side: parses an Action-Request-Normal. */
export function parseActionRequest(b: Uint8Array, limits: DataLimits = {}): ActionRequest {
  if (b[0] !== ACTION_TAG.request) throw new DlmsError('APDU', 'not an Action-Request');
  if (b[1] !== 0x01) throw new DlmsError('UNSUPPORTED', `Action-Request choice ${b[1] ?? '(none)'}`);
  if (b.length < 13) throw new DlmsError('SHORT', 'Action-Request-Normal cut short');
  const out: ActionRequest = { invokeIdAndPriority: b[2]!, classId: (b[3]! << 8) | b[4]!, instance: b.slice(5, 11), methodId: (b[11]! << 24) >> 24 };
  if (b[12] === 0x00) {
    if (b.length !== 13) throw new DlmsError('LENGTH', `${b.length - 13} bytes after an Action-Request without parameters`);
    return out;
  }
  if (b[12] !== 0x01) throw new DlmsError('APDU', `method-invocation-parameters flag ${b[12]}`);
  const { value, rest } = decodeData(b.subarray(13), limits);
  if (rest.length > 0) throw new DlmsError('LENGTH', `${rest.length} bytes after the method-invocation-parameters`);
  return { ...out, parameters: value };
}

export interface ActionResponse {
  invokeIdAndPriority: number;
  result: number;
  resultName: string;
  /** return-parameters: Data, or a Data-Access-Result. */
  returned?: { data: Data } | { accessResult: number };
  trailing: number;
}

export function parseActionResponse(b: Uint8Array, limits: DataLimits = {}): ActionResponse {
  if (b[0] !== ACTION_TAG.response) throw new DlmsError('APDU', `not an Action-Response: tag 0x${(b[0] ?? 0).toString(16)}`);
  if (b[1] !== 0x01) throw new DlmsError('UNSUPPORTED', `Action-Response choice ${b[1] ?? '(none)'}`);
  if (b.length < 5) throw new DlmsError('SHORT', 'Action-Response-Normal cut short');
  const result = b[3]!;
  const out: ActionResponse = { invokeIdAndPriority: b[2]!, result, resultName: ACTION_RESULT[result] ?? `action-result-${result}`, trailing: 0 };
  if (b[4] === 0x00) return { ...out, trailing: b.length - 5 };
  if (b[4] !== 0x01) throw new DlmsError('APDU', `return-parameters flag ${b[4]}`);
  if (b[5] === 0x01) {
    if (b[6] === undefined) throw new DlmsError('SHORT', 'data-access-result missing');
    return { ...out, returned: { accessResult: b[6] }, trailing: b.length - 7 };
  }
  if (b[5] !== 0x00) throw new DlmsError('APDU', `Get-Data-Result choice ${b[5] ?? '(none)'}`);
  const { value, rest } = decodeData(b.subarray(6), limits);
  return { ...out, returned: { data: value }, trailing: rest.length };
}

export function encodeActionResponseNormal(iip: number, result: number, data?: Data): Uint8Array {
  const head = Uint8Array.of(ACTION_TAG.response, 0x01, iip, result);
  return data === undefined ? concat([head, Uint8Array.of(0x00)]) : concat([head, Uint8Array.of(0x01, 0x00), encodeData(data)]);
}
