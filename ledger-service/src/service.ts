// startLedger: keys, whitelist, store, log, the embedded broker (or an external one), the request router,
// the checkpoint timer and the query API, closed in reverse order.
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { AnchorIngest } from './anchor-ingest.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { parseLedgerConfig, type LedgerConfig, type LedgerConfigInput } from './config.js';
import { openLedgerCore } from './core.js';
import { openPeriodLedgerCore, type PeriodLedgerCore } from './period-core.js';
import { describe } from './errors.js';
import { startHttp, type HttpServer } from './http.js';
import { attachToBroker } from './embedded-transport.js';
import { connectTransport, type LedgerTransport } from './mqtt-transport.js';
import { RpcRouter, type InboundMessage } from './rpc.js';
import { startAdminApi } from './operator.js';
import type { LedgerStats } from './stats.js';
import { VerifyPool } from './verify-pool.js';
import { WitnessAttacher } from './witness-attach.js';
import { trustFile } from './receipt.js';
import { AirgapEventStore } from './airgap-events.js';
import { createLedgerMetrics, serveLedgerMetrics } from './metrics.js';
import { MeterCa, type MeterCaFiles } from './meter-ca.js';

export interface LedgerHandle {
  /** Where meters connect (the embedded broker's actual port, or the external url). */
  mqttUrl: string;
  /** The read-only query API, e.g. http://127.0.0.1:8480. */
  httpUrl: string;
  /** The operator admin API (operator.ts), when config.admin is set. */
  adminUrl?: string;
  /** Prometheus endpoint, when config.metrics.enabled (metrics.ts). */
  metricsUrl?: string;
  /** The meter CA's files (meter-ca.ts), when config.meterCa.enabled: CA, broker, ledger and bootstrap certificates. */
  meterCa?: MeterCaFiles;
  /** C2SP note verifier key of the checkpoints (also in <dataDir>/ledger.vkey). */
  verifierKey: string;
  /** The ledger's Ed25519 public key (also hex in <dataDir>/ledger.pub). */
  publicKey: Uint8Array;
  origin: string;
  config: LedgerConfig;
  stats(): LedgerStats;
  /** A signed checkpoint for the current tree size (made now if the tree grew since the last one). */
  checkpointNow(): Promise<string>;
  close(): Promise<void>;
}

export interface LedgerOptions {
  log: Logger;
  /** Clock (epoch ms); tests inject one to step past expiries. Default Date.now. */
  now?: () => number;
}

export async function startLedger(input: LedgerConfigInput, options: LedgerOptions): Promise<LedgerHandle> {
  const config = parseLedgerConfig(input);
  const logger = options.log;
  const now = options.now ?? Date.now;
  const closers: Array<() => Promise<void> | void> = [];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        logger.error({ err: describe(err) }, 'error while closing the ledger');
      }
    }
  };

  try {
    // config.rotation: one log per UTC period (period-set.ts); the current period behind the same store/log surfaces
    const core = config.rotation ? openPeriodLedgerCore(config, logger, now) : openLedgerCore(config, logger);
    closers.push(() => core.close());
    const { deps, stats } = core;
    const { log, keys } = deps;

    const witnesses = new WitnessAttacher(config.witnesses, log, deps.store, logger.child({ component: 'witnesses' }), undefined, undefined, 'periods' in core ? (core as PeriodLedgerCore).periods : undefined); // rotating: links to new period logs
    stats.witnessCounts = () => witnesses.stats();
    const tick = (): void => {
      try {
        const cp = log.checkpointNow();
        witnesses.onCheckpoint(cp.size); // never awaited: submissions run beside the tick
        stats.flush();
      } catch (err) {
        logger.error({ err: describe(err) }, 'checkpoint or counter flush failed');
      }
    };
    const timer = setInterval(tick, config.checkpointIntervalMs);
    timer.unref();
    closers.push(() => clearInterval(timer));
    closers.push(() => tick()); // the last checkpoint covers everything appended
    closers.push(() => witnesses.close()); // before the last tick (which then submits nothing) and the store

    // issue 5 item 9: the meter CA issues client certificates at registration and the broker's own certificate
    const meterCa = config.meterCa.enabled
      ? MeterCa.open({ dataDir: config.dataDir, hosts: config.meterCa.hosts, meterCertDays: config.meterCa.meterCertDays, now, log: logger.child({ component: 'meter-ca' }) })
      : undefined;
    if (meterCa) deps.meterCa = meterCa;
    const brokerTls = config.mqtt.tls ?? (meterCa ? { ca: meterCa.files.caCert, cert: meterCa.files.serverCert, key: meterCa.files.serverKey } : undefined);
    const clientTls = meterCa && /^mqtts:/.test(config.mqtt.url ?? '') ? { ca: meterCa.files.caCert, cert: meterCa.files.ledgerCert, key: meterCa.files.ledgerKey } : undefined;

    let broker: EmbeddedBroker | undefined;
    if (config.mqtt.embedded) {
      broker = await startEmbeddedBroker({
        host: config.mqtt.host, port: config.mqtt.port, log: logger.child({ component: 'broker' }), ...(brokerTls ? { tls: brokerTls } : {}),
      });
      closers.push(() => broker!.close());
    }
    const mqttUrl = broker ? broker.url : config.mqtt.url!;
    const pool = new VerifyPool(config.ingest.verifyWorkers ?? Math.max(1, availableParallelism() - 1));
    closers.push(() => pool.close());
    pool.start();
    const ingest = new AnchorIngest(deps, { maxGroup: config.ingest.maxGroup, pool });
    const router = new RpcRouter(deps, (m) => transport.publish(m), (code) => stats.reject(code), now, ingest);
    const onMessage = (m: InboundMessage): Promise<void> => router.dispatch(m);
    const transport: LedgerTransport = broker
      ? await attachToBroker(broker.aedes, { log: logger, onMessage, room: () => ingest.room(), addressOf: (id) => broker!.addressOf(id) })
      : await connectTransport({ url: mqttUrl, protocolVersion: config.mqtt.protocolVersion ?? 5, log: logger, onMessage, room: () => ingest.room(), ...(clientTls ? { tls: clientTls } : {}) });
    closers.push(() => transport.close());

    const airgapEvents = new AirgapEventStore(config.dataDir, config.airgapControllerKeys);
    closers.push(() => airgapEvents.close());
    const http: HttpServer = await startHttp(
      {
        airgapEvents,
        store: deps.store, log, witnesses, stats: () => stats.snapshot(), maxRangePerRequest: config.maxRangePerRequest, logger: logger.child({ component: 'http' }),
        receipts: deps,
        trust: trustFile(config, keys.verifierKey),
        ...('periods' in core ? { periods: { set: (core as PeriodLedgerCore).periods, signer: keys.noteSigner } } : {}),
      },
      config.http.host,
      config.http.port,
    );
    closers.push(() => http.close());
    const admin = config.admin ? await startAdminApi(deps, { ...config.admin, now, exclusive: (fn) => ingest.exclusive(fn) }) : undefined;
    if (admin) closers.push(() => admin.close());
    const metrics = config.metrics.enabled
      ? await serveLedgerMetrics(
          createLedgerMetrics({ stats: () => stats.snapshot(), checkpointSize: () => log.latestCheckpoint().size, airgapEvents }),
          config.metrics.host,
          config.metrics.port,
        )
      : undefined;
    if (metrics) closers.push(() => metrics.close());

    logger.info({ origin: config.origin, treeSize: log.size.toString(), mqtt: mqttUrl, http: http.url }, 'ledger started');
    let closing: Promise<void> | undefined;
    return {
      mqttUrl,
      httpUrl: http.url,
      ...(admin ? { adminUrl: admin.url } : {}),
      ...(metrics ? { metricsUrl: metrics.url } : {}),
      ...(meterCa ? { meterCa: meterCa.files } : {}),
      verifierKey: keys.verifierKey,
      publicKey: keys.publicKey,
      origin: config.origin,
      config,
      stats: () => stats.snapshot(),
      checkpointNow: async () => log.checkpointNow().note,
      close: () => (closing ??= closeAll().then(() => logger.info('ledger closed'))),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
