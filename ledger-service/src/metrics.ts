// Prometheus metrics of the ledger (prom-client) on their own endpoint, loopback unless configured otherwise.
// Everything is read at scrape time from the ledger's own counters (stats.ts), its log and the air-gap event
// store, so no hot path pays for a metric.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { z } from 'zod';
import type { AirgapEventStore } from './airgap-events.js';
import { LedgerError } from './errors.js';
import type { LedgerStats } from './stats.js';

export const LedgerMetricsConfigSchema = z.strictObject({
  enabled: z.boolean().default(false),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(9480),
});
export type LedgerMetricsConfigInput = z.input<typeof LedgerMetricsConfigSchema>;

export interface LedgerMetricsSources {
  stats(): LedgerStats;
  /** The size of the latest signed checkpoint. */
  checkpointSize(): bigint;
  airgapEvents?: Pick<AirgapEventStore, 'count' | 'openSeconds'>;
  now?: () => number;
}

function mirrored(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({ name, help, registers: [registry], collect() {
    this.reset();
    this.inc(read());
  } });
}

export function createLedgerMetrics(src: LedgerMetricsSources): Registry {
  const registry = new Registry();
  const now = src.now ?? Date.now;
  const p = 'meterseal_ledger_';
  mirrored(registry, `${p}anchors_total`, 'Anchors appended to the log', () => src.stats().anchored);
  mirrored(registry, `${p}registrations_total`, 'Meter registrations accepted', () => src.stats().registrations);
  mirrored(registry, `${p}bindings_total`, 'Session key bindings accepted', () => src.stats().bindings);
  mirrored(registry, `${p}auth_passed_total`, 'Meter authentications that passed', () => src.stats().authPassed);
  mirrored(registry, `${p}auth_failed_total`, 'Meter authentications that failed', () => src.stats().authFailed);
  new Counter({ name: `${p}rejections_total`, help: 'Refused meter requests, by reason', labelNames: ['reason'], registers: [registry], collect() {
    this.reset();
    for (const [reason, n] of Object.entries(src.stats().rejected)) this.inc({ reason }, n);
  } });
  new Counter({ name: `${p}witness_submissions_total`, help: 'Checkpoint submissions to witnesses, by result', labelNames: ['result'], registers: [registry], collect() {
    this.reset();
    for (const [result, n] of Object.entries(src.stats().witnesses ?? {})) if (typeof n === 'number') this.inc({ result }, n);
  } });
  new Gauge({ name: `${p}tree_size`, help: 'Entries in the log', registers: [registry], collect() {
    this.set(src.stats().treeSize);
  } });
  // The checkpoint body has no timestamp (c2sp.org/tlog-checkpoint), so its age is measured from when this
  // process first saw its size; it grows while anchors wait for the next checkpoint.
  let seen: { size: bigint; atMs: number } | undefined;
  new Gauge({ name: `${p}checkpoint_age_seconds`, help: 'Seconds since the latest checkpoint size was first seen', registers: [registry], collect() {
    const size = src.checkpointSize();
    if (!seen || seen.size !== size) seen = { size, atMs: now() };
    this.set((now() - seen.atMs) / 1000);
  } });
  new Gauge({ name: `${p}unsigned_entries`, help: 'Entries appended since the latest checkpoint', registers: [registry], collect() {
    this.set(Math.max(0, src.stats().treeSize - Number(src.checkpointSize())));
  } });
  const events = src.airgapEvents;
  if (events) {
    new Counter({ name: `${p}airgap_windows_total`, help: 'AirgapWindow records received from the controller, by event', labelNames: ['event'], registers: [registry], collect() {
      this.reset();
      const c = events.count();
      this.inc({ event: 'open' }, c.open);
      this.inc({ event: 'close' }, c.close);
    } });
    mirrored(registry, `${p}airgap_open_seconds_total`, 'Seconds the air gap was bridged, from the recorded windows', () => events.openSeconds());
  }
  return registry;
}

export interface LedgerMetricsServer {
  url: string;
  close(): Promise<void>;
}

/** GET /metrics only (Prometheus text format 0.0.4). */
export async function serveLedgerMetrics(registry: Registry, host: string, port: number): Promise<LedgerMetricsServer> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
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
    server.once('error', (cause) => reject(new LedgerError('LISTEN_FAILED', `metrics cannot listen on ${host}:${port}`, { cause })));
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
