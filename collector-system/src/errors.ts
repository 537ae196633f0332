// One error class for the package (CONTRIBUTING: "one base class per package with a string code and a cause").

/**
 * Codes a meter can see in a {"ok":false,"error":{"code":…}} response (docs/protocol.md §9), and the
 * keys of stats().rejected.
 */
export const REJECTION_CODES = [
  'MALFORMED', // the payload is not a canonical record of the expected type, or the topic is not ours
  'TOPIC_MISMATCH', // the meter id in the topic differs from the one in the record
  'NO_SESSION_KEY', // no key announcement for (meter, keyId) yet: the delivery is kept as pending
  'PENDING_FULL', // NO_SESSION_KEY, and the pending table is full: the delivery was not kept
  'KEY_NOT_VALID_FOR_SEQ', // the session key's binding does not cover this reading's seq (§7)
  'BAD_SIGNATURE', // the delivery's signature does not verify over the rebuilt anchor (§4)
  'CONFLICT', // a different reading for a (meter, seq) that is already stored; recorded, never overwritten
  'UNKNOWN_ORIGINAL', // a correction (§14) names a reading that is not stored, or whose stored values no longer hash to the named hash
  'BAD_CERTIFICATE', // the identity certificate is not signed by the trusted ledger key (§8)
  'BAD_BINDING', // the key binding is not signed by the certified identity key, or names another key
  'BAD_KEY', // a certified or bound public key fails assertAcceptablePublicKey (§2.3)
  'KEY_CONFLICT', // a different session key was already announced under this (meter, keyId)
  'INTERNAL', // a storage failure; the meter should resend
] as const;

export type RejectionCode = (typeof REJECTION_CODES)[number];

/** Codes raised to callers of the package's API (configuration, trust, reconciliation, storage). */
export const LOCAL_ERROR_CODES = [
  'CONFIG_INVALID',
  'TRUST_MISSING', // no ledger key configured for what was asked (certificates or checkpoints)
  'TRUST_INVALID', // a configured ledger key cannot be parsed
  'STORE_FAILED',
  'BROKER_FAILED',
  'LEDGER_UNREACHABLE', // an HTTP request to the ledger failed or timed out
  'LEDGER_BAD_RESPONSE', // the ledger answered something that is not the documented API
  'CHECKPOINT_INVALID', // the checkpoint is not signed by the trusted ledger verifier key
  'LEDGER_PROOF_FAILED', // an index leaf, meter-tree node or leaf does not hash to what the checkpoint commits
  'INDEX_MOVED', // the ledger's checkpoint changed while the index was being paged (retried)
  'WINDOW_FAILED', // the air-gap controller refused or could not open a window
  'WINDOW_CLOSED', // the air-gap window closed before the reconciliation finished
  'RECONCILE_BUSY', // a reconciliation is already running
  'NOT_ENOUGH_READINGS', // tamperStoredReadings was asked for more readings than are stored
  'CLOSED', // the collector is shutting down
  'LISTEN_FAILED', // the dashboard or metrics endpoint cannot listen on its address
] as const;

export type CollectorErrorCode = RejectionCode | (typeof LOCAL_ERROR_CODES)[number];

export class CollectorError extends Error {
  readonly code: CollectorErrorCode;
  override readonly cause?: unknown;

  constructor(code: CollectorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message);
    this.name = 'CollectorError';
    this.code = code;
    if ('cause' in options) this.cause = options.cause;
  }
}

/** A short, single-line description of any thrown value, for logs and error messages. */
export function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}${'code' in err && typeof err.code === 'string' ? ` ${err.code}` : ''}: ${err.message}`;
  return String(err);
}
