/**
 * Why a DL/T 645-2007 frame could not be parsed or a meter read failed. Codes:
 *  SHORT_FRAME       fewer bytes than the frame needs (12 + L)
 *  BAD_START         no 68H where a frame start character must be (§5.2.1, both of them)
 *  BAD_END           the byte after the checksum is not 16H (§5.2.7)
 *  LENGTH            L above 200 (§5.2.4), bytes after the end character, or a data field of the wrong size
 *  CHECKSUM          CS is not the modulo-256 sum (§5.2.6); for a read: answers came, none with a good CS
 *  BCD               a nibble above 9 where BCD is required (address, values), or a value BCD cannot hold
 *  PROTOCOL          a well-formed answer the reader cannot use (follow-up frames, wrong direction)
 *  METER_ERROR       the meter answered with an abnormal response (D1H) and its error word (`errorWord`)
 *  TIMEOUT           no answer within timeoutMs, after the retry — wrong address, wiring, baud rate, parity
 *  PORT              the serial port or stream could not be opened, was closed, or failed
 *  ADDRESS_MISMATCH  an answer came from another address than the one asked
 *  CLOCK_NOT_SET     a broadcast time synchronisation was sent but the meter's clock did not take it
 */
export type Dlt645ErrorCode =
  | 'SHORT_FRAME'
  | 'BAD_START'
  | 'BAD_END'
  | 'LENGTH'
  | 'CHECKSUM'
  | 'BCD'
  | 'PROTOCOL'
  | 'METER_ERROR'
  | 'TIMEOUT'
  | 'PORT'
  | 'ADDRESS_MISMATCH'
  | 'CLOCK_NOT_SET';

// DL/T 645-2007 §7.1 abnormal answer: the error word ERR, one flag per bit (bit 7 reserved).
const ERROR_WORD_BITS = [
  'other error',
  'no data requested', // 0x02: the meter does not have this data identifier
  'password error or unauthorised',
  'baud rate cannot be changed',
  'too many yearly time zones',
  'too many daily time slots',
  'too many tariffs',
  'reserved bit 7',
] as const;

/** The flags set in a DL/T 645-2007 error word, e.g. 0x02 → ['no data requested']. */
export function describeErrorWord(errorWord: number): string[] {
  const flags = ERROR_WORD_BITS.filter((_, bit) => (errorWord & (1 << bit)) !== 0);
  return flags.length > 0 ? [...flags] : ['no error bit set'];
}

export class Dlt645Error extends Error {
  readonly code: Dlt645ErrorCode;
  override readonly cause?: unknown;
  /** For METER_ERROR: the error word the meter sent. */
  readonly errorWord?: number;
  constructor(code: Dlt645ErrorCode, message: string, options?: { cause?: unknown; errorWord?: number }) {
    super(message);
    this.name = 'Dlt645Error';
    this.code = code;
    if (options && 'cause' in options) this.cause = options.cause;
    if (options?.errorWord !== undefined) this.errorWord = options.errorWord;
  }

  /** For METER_ERROR: the decoded error word. */
  get errorFlags(): string[] {
    return this.errorWord === undefined ? [] : describeErrorWord(this.errorWord);
  }
}
