// The meter agent: reads the meter over serial, enrols with the ledger, signs every reading, keeps it in the
// durable outbox and sends it by two independent outbound interfaces (seed 001 steps 1-5).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, sha256, toHex } from '@meterseal/protocol';
import type { Logger } from 'pino';
import { AgentConfig, type AgentConfigInput } from './config.js';
import { enrol, type Session } from './enrol.js';
import { loadOrCreateKey } from './keystore.js';
import type { ModbusPort } from './meter/index.js';
import { createMeterSource } from './meter/factory.js';
import type { MeterSource } from './meter/source.js';
import { Outbox, type OutboxCounts } from './outbox.js';
import { buildReading, signReading, type Sample } from './reading-builder.js';
import { RpcClient } from './rpc.js';
import { Uplink, type UplinkStats } from './uplink.js';

export interface AgentStats {
  meterId: string;
  enrolled: boolean;
  readsTaken: number;
  readErrors: number;
  outbox: OutboxCounts;
  ledger: UplinkStats;
  collector: UplinkStats;
}

export interface AgentHandle {
  meterId: string;
  identityPublicKey: Uint8Array;
  /** Resolves once registration, authentication and key binding succeeded. */
  enrolled: Promise<void>;
  /** Takes one reading now (also used by the schedule). Resolves with its sequence number. */
  readNow(): Promise<bigint>;
  /** Stops taking readings; queued ones keep being delivered. */
  stopReadings(): Promise<void>;
  /** True when every reading taken has been acknowledged on both interfaces. */
  drained(): boolean;
  stats(): AgentStats;
  close(): Promise<void>;
}

export interface AgentDeps {
  log: Logger;
  /** A meter source to use instead of a Modbus reader on config.serial.path (tests, in-process link). */
  source?: MeterSource;
  /** A custom serial port (the in-process fallback link; either protocol's reader takes it). */
  port?: ModbusPort;
}

function defaultFirmwareHash(): Uint8Array {
  return sha256(readFileSync(new URL('../package.json', import.meta.url)));
}

export async function startAgent(input: AgentConfigInput, deps: AgentDeps): Promise<AgentHandle> {
  const config = AgentConfig.parse(input);
  const log = deps.log.child({ meterId: config.meterId });
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const { key: identity, created } = loadOrCreateKey(join(config.dataDir, 'identity.key'));
  log.info({ identityKey: toHex(identity.publicKey), created }, created ? 'identity key created' : 'identity key loaded');

  const source: MeterSource = deps.source ?? createMeterSource(config, deps, log);
  const outbox = new Outbox(join(config.dataDir, 'agent.sqlite'));
  const ledgerRpc = new RpcClient('ledger', config.ledger.url, config.meterId, log, config.requestTimeoutMs);
  const collectorRpc = new RpcClient('collector', config.collector.url, config.meterId, log, config.requestTimeoutMs);
  const ledgerUplink = new Uplink('ledger', ledgerRpc, outbox, config.meterId, config.maxInFlight, log);
  const collectorUplink = new Uplink('collector', collectorRpc, outbox, config.meterId, config.maxInFlight, log);
  ledgerUplink.start();
  collectorUplink.start();

  let session: Session | null = null;
  let closed = false;
  let readsTaken = 0;
  let readErrors = 0;
  let timer: NodeJS.Timeout | null = null;
  let reading = true;
  let inFlight: Promise<unknown> = Promise.resolve();
  // The meter may be unplugged or not wired yet: enrol anyway and keep trying to open the port.
  let sourceOpen = false;
  const openSource = async (): Promise<void> => {
    await source.open();
    sourceOpen = true;
  };
  await openSource().catch((err: Error) => log.warn({ err: err.message }, 'meter port not available; will retry before each reading'));

  const firmwareHash = config.firmwareHash ? fromHex(config.firmwareHash, 32) : defaultFirmwareHash();
  const enrolled = (async () => {
    for (let attempt = 1, delay = 500; !closed; attempt++, delay = Math.min(delay * 2, 30_000)) {
      try {
        if (!ledgerRpc.connected) await ledgerRpc.waitConnected(5000);
        session = await enrol(ledgerRpc, { meterId: config.meterId, customerAccount: config.customerAccount, identity, firmwareHash, firstSeq: outbox.nextSeq(), log });
        outbox.addAnnouncement(toHex(session.keyId), session.announcement);
        collectorUplink.kick();
        return;
      } catch (err) {
        log.warn({ attempt, err: (err as Error).message, code: (err as { code?: string }).code }, 'enrolment failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  })();

  async function readNow(): Promise<bigint> {
    if (!session) throw new Error('not enrolled yet: no session key to sign with');
    const s = session;
    let samples: Sample[];
    try {
      if (!sourceOpen) await openSource();
      samples = await source.read();
    } catch (err) {
      readErrors++;
      throw err;
    }
    const seq = outbox.enqueue((n) => signReading(buildReading(config.meterId, n, samples, { retried: source.lastReadRetried === true, meterTimeMs: null }), s));
    readsTaken++;
    ledgerUplink.kick();
    collectorUplink.kick();
    return seq;
  }

  const schedule = (): void => {
    if (closed || !reading) return;
    timer = setTimeout(() => {
      inFlight = readNow()
        .then((seq) => log.debug({ seq: seq.toString() }, 'reading taken'))
        .catch((err: Error & { code?: string }) => log.warn({ err: err.message, code: err.code }, 'reading failed'))
        .finally(schedule);
    }, config.intervalMs);
  };
  async function stopReadings(): Promise<void> {
    reading = false;
    if (timer) clearTimeout(timer);
    await inFlight;
  }
  void enrolled.then(() => {
    if (!closed) {
      log.info({ intervalMs: config.intervalMs }, 'enrolled; taking readings');
      schedule();
    }
  });

  return {
    meterId: config.meterId,
    identityPublicKey: identity.publicKey,
    enrolled,
    readNow,
    stopReadings,
    drained: () => {
      const c = outbox.counts();
      return c.ledgerAcked === c.readings && c.collectorAcked === c.readings;
    },
    stats: () => ({
      meterId: config.meterId,
      enrolled: session !== null,
      readsTaken,
      readErrors,
      outbox: outbox.counts(),
      ledger: { ...ledgerUplink.stats },
      collector: { ...collectorUplink.stats },
    }),
    async close() {
      closed = true;
      await stopReadings();
      await Promise.all([ledgerUplink.stop(), collectorUplink.stop()]);
      await Promise.all([ledgerRpc.close(), collectorRpc.close()]);
      await source.close().catch(() => undefined);
      outbox.close();
    },
  };
}

