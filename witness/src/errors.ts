// One error class for the package (CONTRIBUTING: "one base class per package with a string code and a cause").

/** Why an add-checkpoint request was refused, and its HTTP status (c2sp.org/tlog-witness §add-checkpoint). */
export const REFUSAL_STATUS = {
  MALFORMED: 400, // the body is not `old <size>`, proof lines, an empty line and a checkpoint note; or old size > size
  BAD_SIGNATURE: 403, // no signature on the checkpoint verifies with the log's configured key
  UNKNOWN_ORIGIN: 404, // the checkpoint's origin is not a configured log
  OLD_SIZE_MISMATCH: 409, // `old` is not the size of the latest checkpoint this witness cosigned (body: that size)
  ROOT_MISMATCH: 409, // same size as the latest cosigned checkpoint, another root: a split view, kept as evidence
  BAD_PROOF: 422, // the consistency proof does not verify: a rewritten or forked history, kept as evidence
  // A ledger whose log rotates by period (README "Ledgers that rotate their log"):
  PERIOD_ROLLBACK: 409, // a checkpoint of an earlier period than one this witness already cosigned (kept unless it is the known final)
  LINK_REQUIRED: 409, // a new period, but the link does not reach the witness's latest cosigned log (body: that log's origin and size)
  LINK_CONFLICT: 409, // the link commits a final checkpoint smaller than, or at the same size but other than, the cosigned one
  BAD_LINK: 422, // the link material does not verify (entry 0, its inclusion proof, the committed checkpoint, the consistency proof)
} as const;

export type RefusalCode = keyof typeof REFUSAL_STATUS;

/** Codes raised locally (configuration, keys, storage, the feeder). */
export const LOCAL_ERROR_CODES = [
  'CONFIG_INVALID',
  'KEY_FILE_INVALID', // witness.key exists but does not hold 32 bytes of hex
  'KEY_SEPARATION', // the witness key is also configured as a log key
  'STATE_LOST', // witness.key exists but witness.sqlite does not: cosigning now could sign a fork
  'STORE_MISMATCH', // witness.sqlite was made with another witness key
  'STORE_FAILED',
  'LISTEN_FAILED',
  'FEED_FAILED', // feeder: the ledger or the witness answered something unusable
  'WITNESS_REFUSED', // feeder: the witness refused the checkpoint (status and reason in the message)
  'WITNESS_AHEAD', // feeder: the witness has cosigned a larger tree than the ledger now serves
] as const;

export type WitnessErrorCode = RefusalCode | (typeof LOCAL_ERROR_CODES)[number];

export class WitnessError extends Error {
  readonly code: WitnessErrorCode;
  override readonly cause?: unknown;
  constructor(code: WitnessErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message);
    this.name = 'WitnessError';
    this.code = code;
    if ('cause' in options) this.cause = options.cause;
  }
}

/** The message of anything thrown (never a stack). */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
