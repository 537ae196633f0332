// Prometheus metrics of the collector (prom-client), served on their own endpoint — loopback by default —
// so that scraping never shares a port with meters or operators. Ingest counters are read from the
// collector's StatsCounter at scrape time; reconciliation and air-gap figures are recorded by hooks.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { z } from 'zod';
import { CollectorError } from './errors.js';
import type { Report } from './report.js';
import type { CollectorStats } from './stats.js';

export const MetricsConfigSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Loopback unless configured otherwise: metrics reveal meter activity. */
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(9470),
});
export type MetricsConfigInput = z.input<typeof MetricsConfigSchema>;

export interface CollectorMetrics {
  readonly registry: Registry;
  /** A reconciliation asked the controller for a window. */
  windowOpening(nowMs?: number): void;
  /** The window ended (run finished or failed): adds the time it was held open. */
  windowClosed(nowMs?: number): void;
  reconciled(report: Report, nowMs?: number): void;
  reconcileFailed(code: string): void;
}

/** A counter whose value is a running total kept elsewhere (read at scrape time). */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function createCollectorMetrics(stats: () => CollectorStats, clock: () => number = Date.now): CollectorMetrics {
  const registry = new Registry();
  const p = 'meterseal_collector_';
  mirroredCounter(registry, `${p}readings_collected_total`, 'Readings stored for the first time since start', () => stats().collected);
  mirroredCounter(registry, `${p}readings_duplicate_total`, 'Deliveries of an already stored reading', () => stats().duplicates);
  mirroredCounter(registry, `${p}readings_conflict_total`, 'Deliveries of a different reading for a stored (meter, seq)', () => stats().conflicts);
  mirroredCounter(registry, `${p}session_keys_total`, 'Session keys accepted from key announcements', () => stats().keys);
  new Counter({
    name: `${p}rejections_total`,
    help: 'Refused interface 2 messages, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(stats().rejected)) this.inc({ reason }, n);
    },
  });
  new Gauge({ name: `${p}pending_deliveries`, help: 'Deliveries waiting for their key announcement', registers: [registry], collect() {
    this.set(stats().pending);
  } });

  const runs = new Counter({ name: `${p}reconciliations_total`, help: 'Reconciliation runs, by result', labelNames: ['result'], registers: [registry] });
  const divergences = new Counter({ name: `${p}divergences_total`, help: 'Divergences found, summed over runs, by kind', labelNames: ['kind'], registers: [registry] });
  const lastItems = new Gauge({ name: `${p}last_reconciliation_items`, help: '(meter, seq) outcomes of the last run, by outcome', labelNames: ['outcome'], registers: [registry] });
  const coverage = new Gauge({ name: `${p}reconciliation_coverage_ratio`, help: 'Share of compared (meter, seq) pairs that matched in the last run', registers: [registry] });
  const openSeconds = new Counter({ name: `${p}airgap_open_seconds_total`, help: 'Seconds this collector held an air-gap window open', registers: [registry] });
  const open = new Gauge({ name: `${p}airgap_window_open`, help: '1 while this collector holds an air-gap window', registers: [registry] });
  const checkpointSize = new Gauge({ name: `${p}checkpoint_size`, help: 'Tree size of the checkpoint the last successful run verified', registers: [registry] });
  let lastVerifiedMs: number | undefined;
  new Gauge({
    name: `${p}checkpoint_age_seconds`,
    help: 'Seconds since the last successful run verified a ledger checkpoint (absent before the first)',
    registers: [registry],
    collect() {
      if (lastVerifiedMs === undefined) this.reset();
      else this.set((clock() - lastVerifiedMs) / 1000);
    },
  });
  for (const result of ['ok', 'failed']) runs.inc({ result }, 0);

  let openedAtMs: number | undefined;
  return {
    registry,
    windowOpening(nowMs = clock()) {
      openedAtMs = nowMs;
      open.set(1);
    },
    windowClosed(nowMs = clock()) {
      if (openedAtMs !== undefined) openSeconds.inc(Math.max(0, nowMs - openedAtMs) / 1000);
      openedAtMs = undefined;
      open.set(0);
    },
    reconciled(report, nowMs = clock()) {
      runs.inc({ result: 'ok' });
      let compared = 0;
      let matched = 0;
      for (const [outcome, n] of Object.entries(report.counts ?? {})) {
        if (typeof n !== 'number') continue;
        lastItems.set({ outcome }, n);
        compared += n;
        if (outcome === 'matched') matched = n;
        else divergences.inc({ kind: outcome }, n);
      }
      coverage.set(compared === 0 ? 1 : matched / compared);
      const size = Number(report.checkpoint?.size);
      if (Number.isFinite(size)) checkpointSize.set(size);
      lastVerifiedMs = nowMs;
    },
    reconcileFailed() {
      runs.inc({ result: 'failed' });
    },
  };
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves GET /metrics (Prometheus text format 0.0.4) and nothing else. */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) => reject(new CollectorError('LISTEN_FAILED', `metrics cannot listen on ${host}:${port}`, { cause })));
    server.listen({ host, port }, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
