// The collector's operator-facing endpoints, started and closed together by startCollector: the dashboard
// (behind a login) and the Prometheus metrics endpoint. Both are off unless the config enables them.
import type { Logger } from 'pino';
import { describe } from '../errors.js';
import { createCollectorMetrics, serveMetrics, type CollectorMetrics, type MetricsConfigInput, type MetricsServer } from '../metrics.js';
import { MetricsConfigSchema } from '../metrics.js';
import type { Report } from '../report.js';
import type { CollectorStats } from '../stats.js';
import type { CollectorStore } from '../store.js';
import { DashboardConfigSchema, type DashboardConfigInput } from './config.js';
import { startDashboard, type DashboardDeps, type DashboardHandle } from './server.js';

export interface SurfaceDeps {
  store: CollectorStore;
  stats(): CollectorStats;
  reconcile(reason: string, operator: string): Promise<Report>;
  airgap: { host: string; port: number };
  witness?: DashboardDeps['witness'];
  log: Logger;
}

export interface Surfaces {
  metrics: CollectorMetrics;
  dashboardUrl?: string;
  metricsUrl?: string;
  /** Wraps a reconciliation run: window time, outcome counts, divergences by kind. */
  observe(run: Promise<Report>): void;
  close(): Promise<void>;
}

export async function startSurfaces(
  config: { dashboard?: DashboardConfigInput; metrics?: MetricsConfigInput },
  deps: SurfaceDeps,
): Promise<Surfaces> {
  const dashboardConfig = DashboardConfigSchema.parse(config.dashboard ?? {});
  const metricsConfig = MetricsConfigSchema.parse(config.metrics ?? {});
  const metrics = createCollectorMetrics(deps.stats);
  let metricsServer: MetricsServer | undefined;
  let dashboard: DashboardHandle | undefined;
  try {
    if (metricsConfig.enabled) metricsServer = await serveMetrics(metrics.registry, metricsConfig.host, metricsConfig.port);
    if (dashboardConfig.enabled) {
      dashboard = await startDashboard(dashboardConfig, {
        store: deps.store,
        stats: deps.stats,
        reconcile: deps.reconcile,
        airgap: deps.airgap,
        ...(deps.witness ? { witness: deps.witness } : {}),
        log: deps.log,
      });
    }
  } catch (err) {
    await metricsServer?.close();
    throw err;
  }
  return {
    metrics,
    ...(dashboard ? { dashboardUrl: dashboard.url } : {}),
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
    observe(run) {
      metrics.windowOpening();
      run.then(
        (report) => {
          metrics.windowClosed();
          metrics.reconciled(report);
        },
        (err: unknown) => {
          metrics.windowClosed();
          metrics.reconcileFailed(describe(err));
        },
      );
    },
    async close() {
      await dashboard?.close().catch((err: unknown) => deps.log.warn({ err: describe(err) }, 'closing the dashboard failed'));
      await metricsServer?.close().catch((err: unknown) => deps.log.warn({ err: describe(err) }, 'closing the metrics endpoint failed'));
    },
  };
}
