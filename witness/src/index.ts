// @meterseal/witness: a C2SP tlog-witness (https://c2sp.org/tlog-witness) for the MeterSeal ledger. It
// cosigns (c2sp.org/tlog-cosignature, cosignature/v1) only checkpoints consistent with the last one it
// cosigned, so a ledger that rewrites history or shows different logs to different parties is caught.
export { startWitness, type WitnessHandle, type WitnessOptions } from './service.js';
export { WitnessConfigSchema, WitnessLogSchema, parseWitnessConfig, type WitnessConfig, type WitnessConfigInput } from './config.js';
export { WitnessError, REFUSAL_STATUS, LOCAL_ERROR_CODES, type RefusalCode, type WitnessErrorCode } from './errors.js';
export { Witness, type AddCheckpointOutcome, type WitnessDeps } from './witness.js';
export {
  parseAddCheckpointRequest, formatAddCheckpointRequest, MAX_PROOF_LINES, MAX_REQUEST_BYTES, TLOG_SIZE_MEDIA_TYPE, WITNESS_HEAD_MEDIA_TYPE,
  MAX_LINK_GROUPS, type AddCheckpointRequest, type LinkGroup, type PeriodLinkMaterial,
} from './request.js';
export type { WitnessStore, TreeHead, CosignedHead, EvidenceRow, LedgerPosition, HeadUpdate } from './store.js';
export { checkPeriodLink, type LinkVerdict, type LinkContext } from './period-link.js';
export { buildPeriodLink, ledgerHttpPeriods, type PeriodLogSource, type WitnessHead } from './feeder-link.js';
export { SqliteWitnessStore, DB_FILE, MAX_EVIDENCE_PER_ORIGIN } from './sqlite-store.js';
export { loadOrCreateWitnessKey, KEY_FILE, VKEY_FILE, type WitnessKey } from './keys.js';
export {
  feedWitness, submitToWitness, probeWitness, ledgerHttpSource, type WitnessProbe, type CheckpointSource, type FeedOptions, type FeedResult, type FeederState, type SubmitOptions,
} from './feeder.js';
