/** A request the server can answer with a Modbus exception (Modbus Application Protocol V1.1b3 §7). */
export interface ExceptionTarget {
  unitId: number;
  functionCode: number;
  /** 01 illegal function, 02 illegal data address, 03 illegal data value. */
  exceptionCode: 1 | 2 | 3;
}

/**
 * The one error base class of @meterseal/simulator. Codes:
 *  SHORT_FRAME, CRC_MISMATCH, LENGTH_MISMATCH   the bytes are not a well-formed RTU request (never answered)
 *  ILLEGAL_FUNCTION, ILLEGAL_DATA_VALUE         well-formed, answerable with an exception (`exception` is set)
 *  CONFIG_INVALID, PROFILE, NO_TRANSPORT, PORT  startSimulator could not start
 *  SOCAT_MISSING, PTY_TIMEOUT, PTY_FAILED       createPtyPair could not make a pty pair
 */
export class SimulatorError extends Error {
  readonly code: string;
  override readonly cause?: unknown;
  readonly exception?: ExceptionTarget;
  constructor(code: string, message: string, options?: { cause?: unknown; exception?: ExceptionTarget }) {
    super(message);
    this.name = 'SimulatorError';
    this.code = code;
    if (options && 'cause' in options) this.cause = options.cause;
    if (options?.exception) this.exception = options.exception;
  }
}
