/**
 * The one error base class of @meterseal/hardware. Codes:
 *  PROFILE_ID_INVALID  the id passed to loadProfile is not a profile id (e.g. path characters)
 *  PROFILE_NOT_FOUND   no profiles/<id>.json
 *  PROFILE_UNREADABLE  the file could not be read, is too large, or is not JSON
 *  PROFILE_INVALID     the JSON does not satisfy the schema; the message names the field
 *  RAW_LENGTH          decodeRegister got a byte count that does not match the register type
 *  INVALID_VALUE       a value is NaN/Infinity or cannot be represented as a safe integer
 *  OUT_OF_RANGE        encodeRegister: the value does not fit the register type
 *  BLOCK_LENGTH        splitBlock got a byte count that does not match the block
 */
export class HardwareError extends Error {
  readonly code: string;
  override readonly cause?: unknown;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'HardwareError';
    this.code = code;
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
