// DL/T 645-2007 (the State Grid of China meter protocol): codec, framer, data identifiers and the agent's reader.
export { Dlt645Error, describeErrorWord, type Dlt645ErrorCode } from './errors.js';
export { decodeBcd, encodeBcd, maxBcd, isBcdByte, bcdDigits, type BcdOptions } from './bcd.js';
export {
  parseFrame,
  encodeFrame,
  encodeAddress as encodeDlt645Address,
  decodeAddress as decodeDlt645Address,
  isAddress as isDlt645Address,
  checksum as dlt645Checksum,
  controlFields as dlt645ControlFields,
  ControlBit as Dlt645ControlBit,
  FunctionCode as Dlt645FunctionCode,
  BROADCAST_ADDRESS as DLT645_BROADCAST_ADDRESS,
  WILDCARD_ADDRESS as DLT645_WILDCARD_ADDRESS,
  MAX_DATA_LENGTH as DLT645_MAX_DATA_LENGTH,
  type Dlt645Frame,
  type ControlFields as Dlt645ControlFields,
} from './frame.js';
export {
  encodeDi as encodeDlt645Di,
  decodeDi as decodeDlt645Di,
  isDataIdentifier as isDlt645DataIdentifier,
  readDataRequest as dlt645ReadDataRequest,
  readAddressRequest as dlt645ReadAddressRequest,
  parseReadDataAnswer as parseDlt645ReadDataAnswer,
  parseReadAddressAnswer as parseDlt645ReadAddressAnswer,
  answersFunction as dlt645AnswersFunction,
  type ReadDataAnswer as Dlt645ReadDataAnswer,
} from './messages.js';
export { Dlt645Framer } from './framer.js';
export {
  DLT645_IDENTIFIERS,
  SINGLE_PHASE_DIS,
  findIdentifier as findDlt645Identifier,
  decodeIdentifierValue as decodeDlt645Value,
  parseFormat as parseDlt645Format,
  type Dlt645Identifier,
  type DecodedDlt645Value,
} from './identifiers.js';
export { Dlt645MeterReader, type Dlt645MeterReaderOptions, type Dlt645Sample } from './reader.js';
export type { Dlt645Stream } from './line.js';
export {
  DI_DATE as DLT645_DI_DATE,
  DI_TIME as DLT645_DI_TIME,
  STATE_GRID_UTC_OFFSET_MIN,
  parseMeterDate as parseDlt645Date,
  parseMeterTime as parseDlt645Time,
  meterClockToUtc as dlt645ClockToUtc,
} from './clock.js';
