// The collection system as a service (CONTRIBUTING: startX(config, { log }) → handle with close()):
// the store, the interface 2 broker and client, and reconciliation through the air-gap controller.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { startBroker, type BrokerHandle } from './broker.js';
import { parseCollectorConfig, type CollectorConfigInput } from './config.js';
import { CollectorError, describe } from './errors.js';
import { startIngest, type IngestHandle } from './ingest.js';
import type { ReconcileProgress } from './reconcile.js';
import type { Report } from './report.js';
import { DB_FILE, openSqliteStore } from './sqlite-store.js';
import { RunStore } from './runs.js';
import { loadWitnessKey } from './witness.js';
import { openGapStore, type GapStore } from './gaps.js';
import { openCorrectionStore, type CorrectionStore } from './corrections.js';
import { StatsCounter, type CollectorStats } from './stats.js';
import type { CollectorStore } from './store.js';
import { certificateKeyObject, loadTrust, requireVerifier, trustUsesTwoKeys } from './trust.js';
import { reconcileThroughAirgap } from './window.js';
import { startSurfaces, type Surfaces } from './dashboard/surfaces.js';

export interface CollectorReconcileOptions {
  /** Why the window is opened (1..200 characters), recorded in the air-gap controller's audit log. */
  reason: string;
  /** Ask for a shorter window than config.reconcileMaxWindowMs. */
  maxMs?: number;
  /** The air-gap controller's control address, if not config.airgap. */
  airgap?: { host: string; port: number };
  onProgress?: (p: ReconcileProgress) => void;
  /** The operator asking (the dashboard's logged-in user): the controller grants an operator's request outside the
   *  schedule and records the name in its audit log and in the ledger's AirgapWindow record. */
  operator?: string;
  /** Only readings taken in [fromMs, toMs] (UTC epoch ms, agent time). */
  range?: { fromMs: number; toMs: number };
}

export interface CollectorHandle {
  /** The interface 2 broker meters connect to ("" when started with ingest: false and no url). */
  readonly mqttUrl: string;
  readonly store: CollectorStore;
  /** Signed gap records (gaps.ts): explainedGaps(meterId) for reconciliation. */
  readonly gaps: GapStore;
  /** Signed corrections (corrections.ts, docs/protocol.md §14), kept apart from the readings they correct. */
  readonly corrections: CorrectionStore;
  stats(): CollectorStats;
  /** The operator's dashboard and the Prometheus endpoint, when enabled in the config. */
  readonly dashboardUrl?: string;
  readonly metricsUrl?: string;
  /** Opens an air-gap window, reconciles, closes the window; one at a time (RECONCILE_BUSY). */
  reconcile(options: CollectorReconcileOptions): Promise<Report>;
  /** Resolves when every message received so far has been stored and answered. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startCollector(configInput: CollectorConfigInput, { log }: { log: Logger }): Promise<CollectorHandle> {
  const config = parseCollectorConfig(configInput);
  const trust = loadTrust(config.trust);
  if (trustUsesTwoKeys(trust)) log.info('the ledger certifies identities and signs checkpoints with two different keys');
  const store = openSqliteStore(config.dataDir);
  const gaps = openGapStore(config.dataDir);
  const corrections = openCorrectionStore(config.dataDir);
  const runs = new RunStore(join(config.dataDir, DB_FILE)); // reconciliation runs, divergences, witness state
  let witnessSigner: ReturnType<typeof loadWitnessKey>['signer'] | undefined;
  const stats = new StatsCounter();
  let broker: BrokerHandle | undefined;
  let ingest: IngestHandle | undefined;
  let surfaces!: Surfaces;
  let self: CollectorHandle | undefined;
  try {
    stats.pending = (await store.counts()).pending;
    if (config.ingest) {
      broker = await startBroker(config.mqtt, { log });
      ingest = await startIngest({
        url: broker.url,
        protocolVersion: broker.protocolVersion,
        ...broker.credentials,
        ...(broker.connectStream ? { connectStream: broker.connectStream } : {}),
        store,
        ledgerKey: certificateKeyObject(trust),
        stats,
        log,
        maxPending: config.maxPending,
        gaps,
        corrections,
      });
    }
    surfaces = await startSurfaces(config, {
      store, stats: () => stats.snapshot(), airgap: config.airgap, log,
      reconcile: (reason, operator) => (self ? self.reconcile({ reason, operator }) : Promise.reject(new CollectorError('CLOSED', 'the collector is not running'))),
    });
  } catch (err) {
    await ingest?.close().catch(() => {});
    await broker?.close().catch(() => {});
    await store.close();
    gaps.close();
    corrections.close();
    runs.close();
    throw err;
  }
  const mqttUrl = broker?.url ?? config.mqtt.url ?? '';
  log.info({ dataDir: config.dataDir, mqttUrl, ingest: config.ingest }, 'collector started');

  let running: Promise<Report> | undefined;
  let closing: Promise<void> | undefined;
  return (self = {
    mqttUrl,
    ...(surfaces.dashboardUrl ? { dashboardUrl: surfaces.dashboardUrl } : {}),
    ...(surfaces.metricsUrl ? { metricsUrl: surfaces.metricsUrl } : {}),
    store,
    gaps,
    corrections,
    stats: () => stats.snapshot(),
    idle: async () => {
      await ingest?.idle();
    },
    reconcile(options) {
      if (closing) return Promise.reject(new CollectorError('CLOSED', 'the collector is closing'));
      if (running) return Promise.reject(new CollectorError('RECONCILE_BUSY', 'a reconciliation is already running'));
      let verifier;
      try {
        verifier = requireVerifier(trust);
        // the collector's own witness key (witness.ts), made on first use
        witnessSigner ??= loadWitnessKey(join(config.dataDir, 'witness.key'), 'meterseal-collector-witness').signer;
      } catch (err) {
        return Promise.reject(err);
      }
      const run = reconcileThroughAirgap({
        store,
        airgap: options.airgap ?? config.airgap,
        verifier,
        reason: options.reason,
        ...(options.operator === undefined ? {} : { operator: options.operator }),
        maxMs: Math.min(options.maxMs ?? config.reconcileMaxWindowMs, config.reconcileMaxWindowMs),
        log,
        reportsDir: join(config.dataDir, 'reports'),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
        reconcile: { intervalMs: config.readingIntervalMs, runs, gaps, corrections, witness: { signer: witnessSigner, store: runs }, ...(options.range ? { range: options.range } : {}) },
      });
      running = run;
      surfaces.observe(run);
      void run.then(
        () => (running = undefined),
        () => (running = undefined),
      );
      return run;
    },
    close: () =>
      (closing ??= (async () => {
        await running?.catch(() => {});
        await surfaces.close();
        await ingest?.close().catch((err: unknown) => log.warn({ err: describe(err) }, 'closing the interface 2 client failed'));
        await broker?.close().catch((err: unknown) => log.warn({ err: describe(err) }, 'closing the broker failed'));
        await store.close();
        gaps.close();
        corrections.close();
        runs.close();
        log.info('collector closed');
      })()),
  });
}
