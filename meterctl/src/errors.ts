/** The one error base class of meterctl: every failure has a stable string `code`. */
export class MeterctlError extends Error {
  readonly code: string;
  override readonly cause?: unknown;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'MeterctlError';
    this.code = code;
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
