// One error class for the package (CONTRIBUTING: "one base class per package with a string code and a cause").
// Rejection codes travel to meters in {"op":…,"ref":…,"ok":false,"error":{"code":…,"message":…}} responses
// (docs/protocol.md §9); local codes are raised by startLedger, the config loader and the store.

/** Codes the ledger sends in error responses; every rejection is counted under its code (stats().rejected). */
export const REJECTION_CODES = [
  'MALFORMED', // the payload or topic is not what the op expects (the message says what was wrong)
  'NOT_WHITELISTED', // register: meter id and customer account are not a whitelisted pair
  'KEY_MISMATCH', // register: the meter is registered with another identity key; bind: identityKeyId is not the meter's
  'BAD_KEY', // a public key that is non-canonical or of small order (RFC 8032 §5.1.3)
  'BAD_SIGNATURE', // the signature does not verify with the key that must have made it
  'UNKNOWN_METER', // the meter has not registered
  'AUTH_FAILED', // auth: the response failed (reason: bad-signature, unknown-nonce, expired-challenge, unknown-meter)
  'NOT_AUTHENTICATED', // bind: no unused successful authentication within the bind window
  'BAD_FIRST_SEQ', // bind: firstSeq is not above every anchored seq, or is below the latest binding's firstSeq
  'NO_SESSION_KEY', // anchor: no binding of that key id for that meter
  'SEQ_OUTSIDE_BINDING', // anchor: seq is not covered by the binding of the key that signed it
  'TOPIC_MISMATCH', // anchor: the meter id in the topic is not the anchor's
  'REVOKED', // register, bind, anchor: an operator revoked the meter's identity key (Revocation 0x09)
  'CONFLICT', // a different, validly signed record for a (meter, seq) or (meter, key) already in the log
  'NOT_ANCHORED', // receipt: no anchor for that (meter, seq) in the log
  'NOT_YET_COSIGNED', // receipt: no checkpoint covering the anchor has the configured witness quorum yet
  'INTERNAL', // a bug or a storage failure; the message says what
] as const;

/** Codes raised locally. */
export const LOCAL_ERROR_CODES = [
  'CONFIG_INVALID',
  'KEY_FILE_INVALID', // ledger.key or account-salt exists but does not hold 32 bytes of hex
  'WHITELIST_INVALID', // the whitelist file is not valid JSON of the expected shape (the message names the entry)
  'STORE_MISMATCH', // the data directory's log was made with another origin or ledger key
  'STORE_CORRUPT', // a Merkle node or entry that must exist is missing
  'STORE_APPEND_RACE', // append at an index that is not the current tree size
  'STORE_BAD_ENTRY', // an anchor append whose entry is not the signed anchor its index row describes
  'OUT_OF_RANGE', // a proof asked for a tree size or index beyond the log
  'LISTEN_FAILED', // the broker or the HTTP server could not bind its port
  'MQTT_CONNECT_FAILED', // the ledger could not connect to its broker
  'OPERATOR_REFUSED', // an operator command (operator.ts) was refused; `reason` says why
] as const;

export type RejectionCode = (typeof REJECTION_CODES)[number];
export type LedgerErrorCode = RejectionCode | (typeof LOCAL_ERROR_CODES)[number];

export class LedgerError extends Error {
  readonly code: LedgerErrorCode;
  override readonly cause?: unknown;
  constructor(code: LedgerErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message);
    this.name = 'LedgerError';
    this.code = code;
    if ('cause' in options) this.cause = options.cause;
  }
}

/**
 * A request refused with a code the meter receives. `fields` are added to the response body
 * (e.g. the auth failure `reason`).
 */
export class Rejection extends LedgerError {
  override readonly code: RejectionCode;
  readonly fields: Record<string, unknown>;
  constructor(code: RejectionCode, message: string, options: { cause?: unknown; fields?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'Rejection';
    this.code = code;
    this.fields = options.fields ?? {};
  }
}

/** The message of anything thrown, for a rejection text (never a stack). */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
