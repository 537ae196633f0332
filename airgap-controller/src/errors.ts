// One error class for the package (CONTRIBUTING: "one base class per package with a string code and a cause").
// Codes that travel over the control protocol are the same strings the controller puts in
// {"ok":false,"error":{"code":...}} responses; the client re-raises them as AirgapError with that code.

/** Codes the controller sends in error responses (README §Control protocol). */
export const PROTOCOL_ERROR_CODES = [
  'LINE_TOO_LONG', // a control line exceeded 4096 bytes; the connection is closed after the response
  'INVALID_JSON', // the line is not UTF-8 JSON
  'INVALID_REQUEST', // JSON, but not a well-formed request (not an object, bad/missing/extra fields)
  'UNKNOWN_OP', // "op" is a string the controller does not know
  'WINDOW_BUSY', // a window is already open (or opening/closing); one window at a time
  'NO_WINDOW', // close: there is no open window
  'NOT_OWNER', // close: the window belongs to another control connection
  'DRIVER_FAILED', // the driver could not open the gap
  'AUDIT_FAILED', // the audit record could not be written, so the window was not opened
  'SHUTTING_DOWN', // the controller is closing
  'OUTSIDE_SCHEDULE', // a scheduled open outside the configured schedule's slots (README §Policy)
  'LEDGER_RECORD_FAILED', // the ledger did not accept the window's signed open record (ledgerRecord.required)
  'INTERNAL', // a bug; the message says what
] as const;

/** Codes raised locally: by the client, the config loader and the drivers. */
export const LOCAL_ERROR_CODES = [
  'CONFIG_INVALID',
  'LISTEN_FAILED', // the control port could not be bound
  'DRIVER_STATE', // open() on an open driver
  'CONTROL_UNREACHABLE', // client: could not connect to the control port
  'CONNECTION_LOST', // client: the control connection ended before the answer arrived
  'PROTOCOL_ERROR', // client: the controller sent something that is not a valid control message
  'TIMEOUT', // client: no answer in time
  'HTTP_MALFORMED', // relay: a request head that is not strict HTTP/1.1 (answered 400 and the connection closed)
  'HTTP_TOO_LARGE', // relay: a request head over the size or header-count limit (431)
  'HTTP_FORBIDDEN', // relay: a method other than GET, a body, or a path off the allowlist (403)
] as const;

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];
export type AirgapErrorCode = ProtocolErrorCode | (typeof LOCAL_ERROR_CODES)[number];

const PROTOCOL_CODES: ReadonlySet<string> = new Set(PROTOCOL_ERROR_CODES);

export function isProtocolErrorCode(code: string): code is ProtocolErrorCode {
  return PROTOCOL_CODES.has(code);
}

export class AirgapError extends Error {
  readonly code: AirgapErrorCode;
  override readonly cause?: unknown;

  constructor(code: AirgapErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message);
    this.name = 'AirgapError';
    this.code = code;
    if ('cause' in options) this.cause = options.cause;
  }
}
