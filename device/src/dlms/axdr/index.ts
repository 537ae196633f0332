// A-XDR encoding of COSEM Data (IEC 62056-5-3 §8, IEC 61334-6) and the COSEM date-time format.
export { DATA_TAG, DEFAULT_LIMITS, FIXED_OCTETS, SMALL_INT, type Data, type DataLimits, type DataType, type SmallIntType } from './types.js';
export { decodeLength, encodeLength } from './length.js';
export { MAX_DEPTH_CAP, decodeData, parseData } from './decode.js';
export { encodeData } from './encode.js';
export {
  CLOCK_STATUS,
  clockStatusFlags,
  dateTimeFromEpochMs,
  dateTimeToEpochMs,
  encodeDateTime,
  parseDateTime,
  type ClockStatusFlags,
  type CosemDateTime,
  type ToUtcOptions,
} from './datetime.js';
