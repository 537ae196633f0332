/** The one error base class of the meter agent (the Modbus reader has its own MeterReadError in meter/). */
export class AgentError extends Error {
  readonly code: string;
  override readonly cause?: unknown;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'AgentError';
    this.code = code;
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
