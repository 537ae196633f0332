// @meterseal/collector-system: receives full signed readings over interface 2, stores their values, and
// reconciles them against the ledger's anchored hashes through the air-gap controller.
export { startCollector, type CollectorHandle, type CollectorReconcileOptions } from './service.js';
export {
  CollectorConfigSchema,
  parseCollectorConfig,
  type CollectorConfig,
  type CollectorConfigInput,
  type TrustConfig,
} from './config.js';
export { CollectorError, REJECTION_CODES, LOCAL_ERROR_CODES, type CollectorErrorCode, type RejectionCode } from './errors.js';
export type {
  CollectorStore,
  SessionKeyRecord,
  NewReading,
  InsertOutcome,
  StoredReading,
  ConflictRecord,
  PendingDelivery,
  NewPending,
  StoreCounts,
} from './store.js';
export { SqliteCollectorStore, openSqliteStore, DB_FILE } from './sqlite-store.js';
export { reconcile, writeReportFile, type ReconcileOptions, type ReconcileProgress } from './reconcile.js';
export { reconcileThroughAirgap, type ReconcileThroughAirgapOptions } from './window.js';
export { LedgerClient, INDEX_PAGE, type IndexPage, type MeterNode } from './ledger-client.js';
export type { Report, ReportItem, ReportCounts, Outcome, ReadingValues, MeterCompleteness, WitnessResult, ExplainedItem, AdjustedItem, CorrectedValues } from './report.js';
export { exportReport, progressBar, reportCsv, reportJson } from './report.js';
export { RunStore, type RunSummary } from './runs.js';
export { loadWitnessKey, witnessCheckpoint, type WitnessState, type WitnessStateStore } from './witness.js';
export { compareMeter, type CollectedLeaf, type LeafVerdict, type MeterCompare } from './reconcile-tree.js';
export { collectLeaves, WORKER_THRESHOLD as REHASH_WORKER_THRESHOLD, type MeterLeaves } from './rehash.js';
export { DEFAULT_INTERVAL_MS, readingValues } from './reconcile.js';
export { editStoredReading, tamperStoredReadings, ENERGY_OBIS, type TamperedReading } from './insider.js';
export { loadTrust, LEDGER_PUB_FILE, LEDGER_VKEY_FILE, type LedgerTrust } from './trust.js';
export { startBroker, COLLECTOR_USERNAME, type BrokerHandle } from './broker.js';
export type { CollectorStats } from './stats.js';
export { GapStore, openGapStore, GAPS_DB_FILE, type ExplainedGap } from './gaps.js';
export { CorrectionStore, openCorrectionStore, CORRECTIONS_DB_FILE, type StoredCorrection } from './corrections.js';
export { startDashboard, type DashboardDeps, type DashboardHandle } from './dashboard/server.js';
export { hashPassword, verifyPassword } from './dashboard/auth.js';
export { DashboardConfigSchema, type DashboardConfig, type DashboardConfigInput } from './dashboard/config.js';
export { createCollectorMetrics, serveMetrics, MetricsConfigSchema, type CollectorMetrics } from './metrics.js';
