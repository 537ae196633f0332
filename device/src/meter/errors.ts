/**
 * Why a meter read failed. TIMEOUT, CRC, PORT and PROTOCOL are retried with exponential backoff; EXCEPTION
 * and DECODE are not (the meter answered, asking again gives the same answer). Codes:
 *  TIMEOUT    no (complete) answer within timeoutMs, after all retries — wrong unit id, wiring, baud rate
 *  CRC        answers arrived but their CRC never matched (noise, wrong parity/stop bits), after all retries
 *  EXCEPTION  the meter answered with a Modbus exception (`exceptionCode`, Modbus Application Protocol V1.1b3 §7)
 *  PORT       the serial port could not be opened, was closed, or failed (the bus reopens it on the next request)
 *  PROTOCOL   an answer of the wrong length, unit or function, after all retries
 *  DECODE     the register bytes do not decode (e.g. NaN in a float register)
 */
export type MeterReadErrorCode = 'TIMEOUT' | 'CRC' | 'EXCEPTION' | 'PORT' | 'PROTOCOL' | 'DECODE';

export class MeterReadError extends Error {
  readonly code: MeterReadErrorCode;
  override readonly cause?: unknown;
  /** For EXCEPTION: the Modbus exception code (1 illegal function, 2 illegal data address, 3 illegal data value, …). */
  readonly exceptionCode?: number;
  constructor(code: MeterReadErrorCode, message: string, options?: { cause?: unknown; exceptionCode?: number }) {
    super(message);
    this.name = 'MeterReadError';
    this.code = code;
    if (options && 'cause' in options) this.cause = options.cause;
    if (options?.exceptionCode !== undefined) this.exceptionCode = options.exceptionCode;
  }
}

/** Maps a modbus-serial failure (index.js error objects and messages) to a MeterReadError code. */
export function classifyModbusError(err: unknown): { code: MeterReadErrorCode; exceptionCode?: number } {
  const e = (err ?? {}) as { name?: unknown; errno?: unknown; message?: unknown; modbusCode?: unknown };
  if (typeof e.modbusCode === 'number') return { code: 'EXCEPTION', exceptionCode: e.modbusCode };
  if (e.name === 'TransactionTimedOutError' || e.errno === 'ETIMEDOUT') return { code: 'TIMEOUT' };
  const message = typeof e.message === 'string' ? e.message : '';
  if (message === 'CRC error') return { code: 'CRC' };
  if (e.name === 'PortNotOpenError' || e.name === 'SerialPortError' || e.errno === 'ECONNREFUSED') return { code: 'PORT' };
  return { code: 'PROTOCOL' };
}
