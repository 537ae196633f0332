/**
 * Why DLMS/COSEM bytes were refused or a DLMS exchange failed. One base class for the whole DLMS stack
 * (HDLC in hdlc/, A-XDR in axdr/, ACSE and xDLMS in cosem/), with a string `code` and a `cause`.
 * HDLC codes:
 *  SHORT       fewer bytes than the smallest frame or field (also: a truncated A-XDR or BER value)
 *  BAD_FLAG    a frame does not begin and end with the flag 0x7E
 *  BAD_FORMAT  frame format type is not 1010 (HDLC frame format type 3)
 *  LENGTH      the frame length sub-field disagrees with the bytes, or a field is too long to encode
 *              (also: an A-XDR/BER length larger than the bytes that follow, or bytes left over)
 *  HCS, FCS    a check sequence does not match
 *  ADDRESS     an address is not 1, 2 or 4 bytes, has a bad extension bit, or is out of range
 *  CONTROL     an unknown control field, a bad sequence number, or an information field where none is allowed
 *  PARAMETER   a bad SNRM/UA parameter negotiation field
 *  TIMEOUT     no (acceptable) answer within the timeout, after all retries
 *  REFUSED     the server answered DM (disconnected mode) or FRMR (frame reject)
 *  STATE       the link (or client) is not in a state that allows the call, or the transport failed to write
 * A-XDR, ACSE and xDLMS codes:
 *  LLC         an answer without the LLC header E6 E7 00 (IEC 62056-46 §5.3)
 *  AXDR        malformed A-XDR Data: unknown type tag, bad value (e.g. invalid UTF-8)
 *  BER         malformed BER in an ACSE APDU (tag, length, object identifier)
 *  APDU        an unexpected or malformed ACSE/xDLMS APDU (wrong tag, wrong invoke-id, wrong block number)
 *  LIMIT       a nesting depth, element count, block count or response size limit was exceeded
 *  UNSUPPORTED a valid construct this implementation does not handle (compact-array, ciphered APDUs, …)
 *  VALUE       a value cannot be encoded (out of range, wrong size) or an argument is malformed (OBIS code)
 *  TYPE        a well-formed value of a type the caller cannot use (e.g. a register value that is a string)
 *  CLOCK       a date-time that is not a valid, fully specified point in time
 *  REJECTED    the server rejected the association (AARE result ≠ accepted); see AssociationRejectedError
 *  ACCESS      the server answered with a Data-Access-Result other than success; see DataAccessError
 *  EXCEPTION   the server answered with an exception-response or a confirmed-service-error; see ServiceError
 *  AUTH        HLS authentication failed: the server refused our f(StoC), or its f(CtoS) does not verify
 *              (wrong authentication/encryption key, tampered tag, replayed invocation counter)
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
  | 'STATE'
  | 'LLC'
  | 'AXDR'
  | 'BER'
  | 'APDU'
  | 'LIMIT'
  | 'UNSUPPORTED'
  | 'VALUE'
  | 'TYPE'
  | 'CLOCK'
  | 'REJECTED'
  | 'ACCESS'
  | 'EXCEPTION'
  | 'AUTH';

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
