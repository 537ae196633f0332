/** The one error base class of @meterseal/edge-gateway: a stable string `code` and a `cause`. */
export type GatewayErrorCode = 'CONFIG_INVALID' | 'NOT_ENROLLED' | 'LISTEN_FAILED' | 'READ_TIMEOUT' | 'CLOSED';

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  override readonly cause?: unknown;
  constructor(code: GatewayErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'GatewayError';
    this.code = code;
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
