// The edge gateway (data concentrator, issue 7): polls every meter on one multi-drop bus in turn, signs each
// reading with that meter's gateway-held session key into the gateway's shared durable outbox (one group commit
// for the readings of a window, across meters: shared-outbox.ts), delivers over two
// independent uplinks, stops polling (and later records a signed DiskFull gap) when the disk cap is reached,
// records a gap when a meter does not answer for an interval, and — optionally — forwards meters' own signed
// traffic from a local broker.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { GapReason, fromHex, sha256, type GapReasonCode } from '@meterseal/protocol';
import { AgentConfig, createMeterSource, type MeterSource } from '@meterseal/device';
import { parseGatewayConfig, type GatewayConfig, type GatewayConfigInput } from './config.js';
import { diskState, type DiskState } from './disk.js';
import { GatewayError } from './errors.js';
import { startForwarder, type ForwarderHandle, type ForwarderStats } from './forwarder.js';
import { MeterSession } from './meter-session.js';
import { LEGACY_OUTBOX_FILE, migrateMeterOutbox } from './migrate.js';
import { SharedOutbox } from './shared-outbox.js';

/** The shared outbox of every meter the gateway serves, in its data directory. */
export const OUTBOX_FILE = 'outbox.sqlite';

export interface GatewayDeps {
  log: Logger;
  /** Meter sources by meter id, instead of readers on config.bus.path (tests, in-process links). */
  sources?: Record<string, MeterSource>;
  /** Called once a reading or gap is durable in its outbox (tests count acknowledged readings with it). */
  onStored?: (meterId: string, seq: bigint, kind: 'reading' | 'gap') => void;
}

export interface GatewayStats {
  gatewayId: string;
  polls: number;
  pollsSkipped: number;
  readings: number;
  gaps: Record<string, number>;
  polling: boolean;
  disk: DiskState | null;
  /** Per meter: readings taken by this process, rows waiting for each interface, the next seq. */
  meters: Record<string, { enrolled: boolean; readings: number; ledgerPending: number; collectorPending: number; nextSeq: string }>;
  forwarder: ForwarderStats | null;
  /** Group commits of the shared outbox so far and the writes they carried. */
  outbox: { count: number; items: number; ackCommits: number; acks: number };
}

export interface GatewayHandle {
  gatewayId: string;
  /** The local broker meters connect to, when enabled. */
  localBrokerUrl: string | null;
  /** Resolves once every meter has enrolled. */
  enrolled: Promise<void>;
  /** One poll of every meter now (the schedule calls it too). */
  pollNow(): Promise<void>;
  stopPolling(): Promise<void>;
  /** True when everything queued was acknowledged on both interfaces. */
  drained(): boolean;
  /** Whether the disk cap has stopped polling. */
  diskFull(): boolean;
  stats(): GatewayStats;
  close(): Promise<void>;
}

function sourceFor(config: GatewayConfig, m: GatewayConfig['meters'][number], log: Logger): MeterSource {
  // the device's own factory: readers given the same path share one bus (device/src/meter/bus.ts)
  const agentConfig = AgentConfig.parse({
    dataDir: config.dataDir, meterId: m.meterId, customerAccount: m.customerAccount,
    serial: {
      protocol: config.bus.protocol, timeoutMs: config.bus.timeoutMs,
      ...(config.bus.path !== undefined ? { path: config.bus.path } : {}),
      ...(config.bus.baudRate !== undefined ? { baudRate: config.bus.baudRate } : {}),
      ...(m.unitId !== undefined ? { unitId: m.unitId } : {}),
      ...(m.address !== undefined ? { address: m.address } : {}),
      ...(m.profile !== undefined ? { profile: m.profile } : {}),
    },
  });
  return createMeterSource(agentConfig, {}, log);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GatewayError('READ_TIMEOUT', `${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export async function startGateway(input: GatewayConfigInput, deps: GatewayDeps): Promise<GatewayHandle> {
  const config = parseGatewayConfig(input);
  const log = deps.log.child({ gatewayId: config.gatewayId });
  const firmwareHash = config.firmwareHash ? fromHex(config.firmwareHash, 32) : sha256(readFileSync(new URL('../package.json', import.meta.url)));
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = new SharedOutbox(join(config.dataDir, OUTBOX_FILE), { commitWindowMs: config.commitWindowMs, commitMaxItems: config.commitMaxReadings });
  const served = config.meters.map((m) => {
    const mlog = log.child({ meterId: m.meterId });
    const dir = join(config.dataDir, 'meters', m.meterId);
    const migrated = migrateMeterOutbox(store, m.meterId, join(dir, LEGACY_OUTBOX_FILE));
    if (migrated !== null) mlog.info({ rows: migrated, nextSeq: store.nextSeq(m.meterId).toString() }, 'per-meter outbox moved into the shared outbox');
    const session = new MeterSession({
      gatewayId: config.gatewayId, meterId: m.meterId, customerAccount: m.customerAccount, dir, firmwareHash, log: mlog, outbox: store.forMeter(m.meterId),
      ledgerUrl: config.ledger.url, collectorUrl: config.collector.url, requestTimeoutMs: config.requestTimeoutMs, maxInFlight: config.maxInFlight,
    });
    const source = deps.sources?.[m.meterId] ?? sourceFor(config, m, mlog);
    return { session, source, opened: false, readings: 0, log: mlog };
  });
  const forwarder: ForwarderHandle | null = config.localBroker.enabled
    ? await startForwarder({ ...config.localBroker, ledgerUrl: config.ledger.url, collectorUrl: config.collector.url, log })
    : null;

  const gaps: Record<string, number> = {};
  let polls = 0, pollsSkipped = 0, readings = 0;
  let fullSince: number | null = null;
  let lastDisk: DiskState | null = null;
  let polling = true;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<void> = Promise.resolve();

  /** Resolves once the gap is durable (never rejects: a gap that could not be stored is logged). */
  const gap = async (s: MeterSession, reason: GapReasonCode, fromMs: number, toMs: number, span: bigint): Promise<void> => {
    const name = Object.entries(GapReason).find(([, v]) => v === reason)![0];
    try {
      const first = await s.recordGap(reason, BigInt(fromMs), BigInt(toMs), span);
      deps.onStored?.(s.meterId, first, 'gap');
      gaps[name] = (gaps[name] ?? 0) + 1;
      log.warn({ meterId: s.meterId, firstSeq: first.toString(), span: span.toString(), reason: name }, 'gap recorded');
    } catch (err) {
      log.error({ meterId: s.meterId, reason: name, err: (err as Error).message }, 'a gap could not be stored');
    }
  };
  const missedIntervals = (fromMs: number, toMs: number): bigint => BigInt(Math.max(1, Math.floor((toMs - fromMs) / config.intervalMs)));

  // A restart after whole intervals without power: each meter's first act once enrolled is a PowerLoss gap.
  const startedAt = Date.now();
  for (const m of served) {
    const last = store.lastWriteMs(m.session.meterId);
    void m.session.enrolled.then(async () => {
      if (closed || last === null || startedAt - last <= 2 * config.intervalMs) return;
      await gap(m.session, GapReason.PowerLoss, last, startedAt, missedIntervals(last, startedAt) - 1n || 1n);
    });
  }

  async function pollOnceInner(): Promise<void> {
    if (config.pruneAcked) store.prune();
    lastDisk = diskState(config.dataDir, [store], config.diskCapBytes, config.minFreeBytes);
    const now = Date.now();
    if (lastDisk.full) {
      if (fullSince === null) {
        fullSince = now;
        log.error({ why: lastDisk.why }, 'disk cap reached: polling stops until the queue drains (no reading is dropped)');
      }
      pollsSkipped++;
      return;
    }
    if (fullSince !== null) {
      await Promise.all(served.filter((m) => m.session.isEnrolled).map((m) => gap(m.session, GapReason.DiskFull, fullSince!, now, missedIntervals(fullSince!, now))));
      log.info('disk below the cap again: polling resumes');
      fullSince = null;
    }
    polls++;
    // readings of this poll go into group commits across meters; the poll ends once all of them are durable
    const durable: Promise<void>[] = [];
    try {
      await readInTurn(durable);
    } finally {
      await Promise.all(durable);
    }
  }
  async function readInTurn(durable: Promise<void>[]): Promise<void> {
    // Modbus over serial line V1.02 §2.1: one master, one transaction at a time — meters are read in turn
    for (const m of served) {
      if (closed || !polling) return;
      if (!m.session.isEnrolled) continue;
      const started = Date.now();
      try {
        if (!m.opened) {
          await m.source.open();
          m.opened = true;
        }
        const samples = await withTimeout(m.source.read(), Math.max(config.bus.timeoutMs * 4, 2000), `reading ${m.session.meterId}`);
        // not awaited here: the next meter is read while this reading waits for its group commit
        durable.push(m.session.takeReading(samples, m.source.lastReadRetried === true).then((seq) => {
          deps.onStored?.(m.session.meterId, seq, 'reading');
          m.readings++;
          readings++;
        }, (err: Error) => m.log.error({ err: err.message }, 'a reading could not be stored; it was not acknowledged')));
      } catch (err) {
        const e = err as Error & { code?: string };
        m.log.warn({ err: e.message, code: e.code }, 'read failed');
        if (e.code === 'READ_TIMEOUT') m.opened = false;
        durable.push(gap(m.session, e.code === 'READ_TIMEOUT' ? GapReason.BusTimeout : GapReason.SerialFailure, started, Date.now(), 1n));
      }
    }
  }
  const pollNow = (): Promise<void> => {
    const run = current.then(pollOnceInner);
    current = run.catch((err: Error) => log.error({ err: err.message }, 'poll failed'));
    return run;
  };
  const schedule = (): void => {
    if (closed || !polling) return;
    timer = setTimeout(() => void pollNow().catch(() => undefined).finally(schedule), config.intervalMs);
  };
  const enrolled = Promise.all(served.map((m) => m.session.enrolled)).then(() => undefined);
  schedule();
  log.info({ meters: served.length, intervalMs: config.intervalMs, localBroker: forwarder?.url ?? null }, 'gateway started');

  return {
    gatewayId: config.gatewayId,
    localBrokerUrl: forwarder?.url ?? null,
    enrolled,
    pollNow,
    async stopPolling() {
      polling = false;
      if (timer) clearTimeout(timer);
      await current;
    },
    drained: () => served.every((m) => {
      const p = store.pendingCounts(m.session.meterId);
      return p.ledger === 0 && p.collector === 0;
    }),
    diskFull: () => fullSince !== null,
    stats: () => ({
      gatewayId: config.gatewayId, polls, pollsSkipped, readings, gaps: { ...gaps }, polling, disk: lastDisk,
      meters: Object.fromEntries(served.map((m) => {
        const p = store.pendingCounts(m.session.meterId);
        return [m.session.meterId, { enrolled: m.session.isEnrolled, readings: m.readings, ledgerPending: p.ledger, collectorPending: p.collector, nextSeq: m.session.outbox.nextSeq().toString() }];
      })),
      forwarder: forwarder?.stats() ?? null,
      outbox: { ...store.commits },
    }),
    async close() {
      if (closed) return;
      closed = true;
      polling = false;
      if (timer) clearTimeout(timer);
      await current;
      await forwarder?.close();
      await Promise.all(served.map(async (m) => {
        await m.session.close();
        await m.source.close().catch(() => undefined);
      }));
      store.close(); // commits whatever is still waiting
      log.info('gateway closed');
    },
  };
}
