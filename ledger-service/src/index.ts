// @meterseal/ledger-service: the blockchain-style service platform of the seed patent, done as a
// transparency log — meter identities, authentication results, session-key bindings and the hashes of
// signed readings in an RFC 9162 Merkle log with C2SP signed checkpoints.
export { startLedger, type LedgerHandle, type LedgerOptions } from './service.js';
export { DB_FILE } from './core.js';
export {
  LedgerConfigSchema,
  MqttConfigSchema,
  parseLedgerConfig,
  type LedgerConfig,
  type LedgerConfigInput,
} from './config.js';
export {
  LedgerError,
  Rejection,
  REJECTION_CODES,
  LOCAL_ERROR_CODES,
  type LedgerErrorCode,
  type RejectionCode,
} from './errors.js';
export {
  COUNTERS,
  type LedgerStore,
  type AppendEffect,
  type AppendRequest,
  type AnchorRow,
  type AuthPassRow,
  type BindingRow,
  type MeterRow,
  type MeterSummary,
  type StoredCheckpoint,
} from './store.js';
export { SqliteStore, openSqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { LedgerLog, type IndexSnapshot } from './log.js';
export { PeriodLogSet, PERIODS_DIR, type PeriodInfo, type PeriodLog } from './period-set.js';
export { RotatingLog, RotatingStore } from './period-store.js';
export { startHttp, type HttpServer } from './http.js';
export { SqliteMeterIndex, type RevocationSource } from './meter-index.js';
export type { LedgerStats } from './stats.js';
export { loadOrCreateKeys, publishKeys, KEY_FILE, PUB_FILE, VKEY_FILE, SALT_FILE, type LedgerKeys } from './keys.js';
export { Whitelist, parseWhitelist } from './whitelist.js';
export { MAX_REQUEST_BYTES, REQUEST_TOPICS } from './rpc.js';
export { MeterCa, meterCaFiles, BOOTSTRAP_CN, LEDGER_CN, type MeterCaFiles, type IssuedCertificate } from './meter-ca.js';
export { mayPublish, maySubscribe, mosquittoAclFile, type MqttIdentity } from './acl.js';
