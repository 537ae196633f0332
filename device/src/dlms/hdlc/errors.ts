/**
 * Why DLMS/COSEM bytes were refused or a DLMS exchange failed. One base class for the DLMS stack
 * (HDLC now; AARQ/AARE, xDLMS and A-XDR later), with a string `code` and a `cause`. Codes:
 *  SHORT       fewer bytes than the smallest frame or field
 *  BAD_FLAG    a frame does not begin and end with the flag 0x7E
 *  BAD_FORMAT  frame format type is not 1010 (HDLC frame format type 3)
 *  LENGTH      the frame length sub-field disagrees with the bytes, or a field is too long to encode
 *  HCS, FCS    a check sequence does not match
 *  ADDRESS     an address is not 1, 2 or 4 bytes, has a bad extension bit, or is out of range
 *  CONTROL     an unknown control field, a bad sequence number, or an information field where none is allowed
 *  PARAMETER   a bad SNRM/UA parameter negotiation field
 *  TIMEOUT     no (acceptable) answer within the timeout, after all retries
 *  REFUSED     the server answered DM (disconnected mode) or FRMR (frame reject)
 *  STATE       the link is not in a state that allows the call (send before connect, closed), or the
 *              transport failed to write
 */
export type DlmsErrorCode =
  | 'SHORT'
  | 'BAD_FLAG'
  | 'BAD_FORMAT'
  | 'LENGTH'
  | 'HCS'
  | 'FCS'
  | 'ADDRESS'
  | 'CONTROL'
  | 'PARAMETER'
  | 'TIMEOUT'
  | 'REFUSED'
  | 'STATE';

export class DlmsError extends Error {
  readonly code: DlmsErrorCode;
  override readonly cause?: unknown;
  constructor(code: DlmsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'DlmsError';
    this.code = code;
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
