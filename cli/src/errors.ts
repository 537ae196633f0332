export class CliError extends Error {
  readonly code: string;
  override readonly cause?: unknown;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
