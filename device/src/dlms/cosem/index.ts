// DLMS/COSEM application layer for the meter agent: LLC (IEC 62056-46 §5.3), A-XDR Data (IEC 62056-5-3 §8,
// IEC 61334-6), ACSE AARQ/AARE/RLRQ/RLRE and xDLMS Initiate (IEC 62056-5-3 §8), xDLMS GET with block
// transfer, ACTION, and CosemClient over the HDLC link (../hdlc). LN referencing; no, low-level (password)
// or high-level GMAC authentication (hls.ts); no ciphering of APDUs.
export { DlmsError, type DlmsErrorCode } from '../errors.js';
export * from '../axdr/index.js';
export { LLC_REQUEST, LLC_RESPONSE, addLlc, stripLlc } from './llc.js';
export { formatObis, obis, type ObisInput } from './obis.js';
export { decodeOid, encodeOid, readTlvs, tlv, type Tlv } from './ber.js';
export { CONFORMANCE_BITS, decodeConformance, encodeConformance, type ConformanceBit } from './conformance.js';
export {
  encodeInitiateRequest,
  encodeInitiateResponse,
  parseConfirmedServiceError,
  parseInitiateRequest,
  parseInitiateResponse,
  type ConfirmedServiceError,
  type InitiateRequest,
  type InitiateResponse,
} from './initiate.js';
export {
  ACSE_SERVICE_PROVIDER,
  ACSE_SERVICE_USER,
  APPLICATION_CONTEXT,
  ASSOCIATION_RESULT,
  MECHANISM,
  encodeAarq,
  encodeRlrq,
  parseAarq,
  parseAare,
  parseRlre,
  type Aare,
  type AarqParams,
  type Rlre,
  type Rlrq,
  type SourceDiagnostic,
} from './acse.js';
export {
  APDU_TAG,
  DATA_ACCESS_RESULT,
  encodeGetRequestNext,
  encodeGetRequestNormal,
  encodeGetResponseBlock,
  encodeGetResponseNormal,
  invokeIdAndPriority,
  parseExceptionResponse,
  parseGetRequest,
  parseGetResponse,
  type AttributeDescriptor,
  type ExceptionResponse,
  type GetRequest,
  type GetResponse,
  type SelectiveAccess,
} from './get.js';
export { AssociationRejectedError, DataAccessError, ServiceError } from './errors.js';
export { UNITS, scaledDecimal } from './units.js';
export {
  CLASS_ID,
  CLOCK_COLUMN,
  CLOCK_OBIS,
  DEFAULT_RANGE,
  captureObjectData,
  captureObjects,
  clockReading,
  integerOf,
  profileRows,
  rangeAccess,
  registerValue,
  type CaptureObject,
  type ClockReading,
  type RangeOptions,
  type RegisterValue,
} from './objects.js';
export {
  ACTION_RESULT,
  ACTION_TAG,
  encodeActionRequestNormal,
  encodeActionResponseNormal,
  parseActionRequest,
  parseActionResponse,
  type ActionRequest,
  type ActionResponse,
  type MethodDescriptor,
} from './action.js';
export {
  GMAC_TAG_LENGTH,
  MAX_INVOCATION_COUNTER,
  MemoryInvocationCounter,
  SC_AUTHENTICATION,
  SYSTEM_TITLE_LENGTH,
  checkHlsKeys,
  checkSystemTitle,
  hlsChallenge,
  hlsGmac,
  verifyHlsGmac,
  type HlsKeys,
  type InvocationCounter,
} from './hls.js';
export {
  CURRENT_ASSOCIATION,
  REPLY_TO_HLS_AUTHENTICATION,
  CosemClient,
  type HlsAuth,
  type Association,
  type ClientStats,
  type CosemClientOptions,
  type CosemLink,
  type GetResult,
  type ReleaseOptions,
  type ReleaseOutcome,
} from './client.js';
