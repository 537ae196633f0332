// IEC 62056-46 HDLC data link layer for DLMS/COSEM over a serial line (client side).
export { DlmsError, type DlmsErrorCode } from './errors.js';
export { fcs16, fcsOk, putFcs } from './fcs.js';
export {
  CLIENT_ALL_STATION,
  CLIENT_MANAGEMENT_PROCESS,
  CLIENT_NO_STATION,
  CLIENT_PUBLIC,
  SERVER_ALL_STATION,
  SERVER_CALLING_PHYSICAL,
  SERVER_MANAGEMENT_LOGICAL_DEVICE,
  SERVER_NO_STATION,
  checkAddress,
  clientAddress,
  decodeAddress,
  encodeAddress,
  formatAddress,
  sameAddress,
  serverAddress,
  type HdlcAddress,
} from './address.js';
export { decodeControl, encodeControl, type ControlKind, type HdlcControl, type UnnumberedKind } from './control.js';
export {
  FLAG,
  MAX_FRAME_LENGTH,
  encodeFrame,
  frameOverhead,
  parseFrame,
  type FrameFormat,
  type FrameInput,
  type HdlcFrame,
} from './frame.js';
export { HdlcFramer, type FramerStats, type ReceivedFrame } from './framer.js';
export {
  DEFAULT_PARAMETERS,
  encodeParameters,
  negotiate,
  parseParameters,
  type HdlcParameters,
} from './snrm.js';
export { HdlcLink, type HdlcLinkOptions, type HdlcTransport, type LinkState, type LinkStats } from './link.js';
