// The meter agent: reads the meter over serial, enrols with the ledger, signs every reading, keeps it in the
// durable outbox and sends it by two independent outbound interfaces (seed 001 steps 1-5).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GapReason, type ClockSyncState, decodeIdentityCertificate, decodeKeyAnnouncement, fromHex, sha256, signGap, toHex } from '@meterseal/protocol';
import type { Logger } from 'pino';
import { AgentConfig, type AgentConfigInput } from './config.js';
import { enrol, type Session } from './enrol.js';
import { keyFileOptions, loadOrCreateKey } from './keystore.js';
import { KeyHistoryCheck, startSessionSchedule } from './session-schedule.js';
import { AgentError } from './errors.js';
import type { ModbusPort } from './meter/index.js';
import { createMeterSource } from './meter/factory.js';
import { snapshotOf, type MeterSnapshot, type MeterSource } from './meter/source.js';
import type { MeterExchange, MeterPin } from './meter-identity.js';
import { ScanGuard, profileLimits } from './plausibility-guard.js';
import { Outbox, type OutboxCounts } from './outbox.js';
import { PromiseTracker, type PromiseStats } from './promises.js';
import { buildReading, clockSyncState, signReading } from './reading-builder.js';
import { signedCorrection, type CorrectionRequest } from './correction.js';
import { RpcClient } from './rpc.js';
import { TlsIdentity, collectorDialer } from './tls-identity.js';
import { Uplink, type UplinkStats } from './uplink.js';

export interface AgentStats {
  meterId: string;
  enrolled: boolean;
  readsTaken: number;
  readErrors: number;
  outbox: OutboxCounts;
  ledger: UplinkStats;
  collector: UplinkStats;
  /** Inclusion promises held, fulfilled, broken (promises.ts). */
  promises: PromiseStats;
  /** Promises with no valid receipt after their deadline; the evidence is in <dataDir>/evidence/. */
  brokenPromises: number;
  /** The meter exchange that stopped signing (expected and found identity), or null (meter-identity.ts). */
  meterExchange: MeterExchange | null;
  /** The pinned meter identity, or null until the first read pins one. */
  meterPin: MeterPin | null;
}

export interface AgentHandle {
  meterId: string;
  identityPublicKey: Uint8Array;
  /** Resolves once registration, authentication and key binding succeeded. */
  enrolled: Promise<void>;
  /** Why the last enrolment attempt failed (code and message), or null; cleared once enrolled. */
  enrolError(): { code: string; message: string } | null;
  /** Takes one reading now (also used by the schedule). Resolves with its sequence number. */
  readNow(): Promise<bigint>;
  /** Session key ids bound on the ledger for this meter that this agent did not make (an alarm). */
  foreignBindings(): string[];
  /** Re-authenticates and binds a new session key from the next seq (also on config.sessionKeySchedule). */
  rotateSessionKey(): Promise<{ keyId: string; firstSeq: bigint }>;
  /**
   * Signs a correction of the reading at req.originalSeq (docs/protocol.md §14) at the next seq and queues it for
   * both interfaces; the original is untouched. Resolves with the correction's seq. AgentError NOT_A_READING,
   * NOT_ENROLLED; a bad request throws ProtocolError BAD_CORRECTION. Nothing is queued when it throws.
   */
  correct(req: CorrectionRequest): Promise<bigint>;
  /** Stops taking readings; queued ones keep being delivered. */
  stopReadings(): Promise<void>;
  /** True when every reading taken has been acknowledged on both interfaces. */
  drained(): boolean;
  stats(): AgentStats;
  /**
   * The operator action after a meter exchange: forgets the pinned meter identity (and the exchange), so the
   * next reading pins the meter now on the line and signing resumes (device/README.md, "Meter exchange").
   */
  clearMeterPin(note?: string): { cleared: MeterPin | null };
  close(): Promise<void>;
}

export interface AgentDeps {
  log: Logger;
  /** A meter source to use instead of a Modbus reader on config.serial.path (tests, in-process link). */
  source?: MeterSource;
  /** A custom serial port (the in-process fallback link; either protocol's reader takes it). */
  port?: ModbusPort;
  /**
   * How the agent knows its own clock is synchronised (default: systemd-timesyncd's marker file). A board
   * synchronised by other means (chrony, GNSS) supplies its own probe; the clock-set policy relies on it.
   */
  clockSync?: () => ClockSyncState;
  /** The clock the TLS checks read (tls.ts, no-RTC rule); tests inject one. Default Date.now. */
  now?: () => number;
}

function defaultFirmwareHash(): Uint8Array {
  return sha256(readFileSync(new URL('../package.json', import.meta.url)));
}

export async function startAgent(input: AgentConfigInput, deps: AgentDeps): Promise<AgentHandle> {
  const config = AgentConfig.parse(input);
  const log = deps.log.child({ meterId: config.meterId });
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const { key: identity, created } = loadOrCreateKey(join(config.dataDir, 'identity.key'), keyFileOptions(config));
  log.info({ identityKey: toHex(identity.publicKey), created }, created ? 'identity key created' : 'identity key loaded');

  const source: MeterSource = deps.source ?? createMeterSource(config, deps, log);
  const outbox = new Outbox(join(config.dataDir, 'agent.sqlite'));
  // Identity pin, meter clock policy and register plausibility (issue 4 items 6-8): judged before signing.
  const guard = new ScanGuard(config.dataDir, join(config.dataDir, 'agent.sqlite'), {
    ...(config.meter.identity !== undefined ? { identity: config.meter.identity } : {}),
    clock: config.clock,
    limits: profileLimits(config, log),
  }, log);
  // issue 5 item 9: mqtts with the bootstrap identity until the registration brings the meter's own certificate
  const tls = config.ledger.tls ? new TlsIdentity(config.dataDir, config.meterId, config.ledger.tls, log, deps.now) : undefined;
  const ledgerRpc = new RpcClient('ledger', config.ledger.url, config.meterId, log, config.requestTimeoutMs, 'auto', tls);
  // interface 2 over mqtts with the meter's own certificate from the ledger's meter CA, never the bootstrap one
  if (config.collector.tls && !tls) throw new AgentError('TLS_CONFIG', 'collector.tls needs ledger.tls: the client certificate comes from the ledger\'s meter CA');
  const collectorTls = config.collector.tls && tls ? collectorDialer(tls, config.collector.tls) : undefined;
  const collectorRpc = new RpcClient('collector', config.collector.url, config.meterId, log, config.requestTimeoutMs, 'auto', collectorTls);
  const promises = new PromiseTracker(join(config.dataDir, 'agent.sqlite'), join(config.dataDir, 'evidence'), config.meterId, log);
  const ledgerUplink = new Uplink('ledger', ledgerRpc, outbox, config.meterId, config.maxInFlight, log, promises);
  const collectorUplink = new Uplink('collector', collectorRpc, outbox, config.meterId, config.maxInFlight, log);
  ledgerUplink.start();
  collectorUplink.start();

  let session: Session | null = null;
  // issue 5 item 6: alarm on a session key bound on the ledger that this agent did not make (a cloned board)
  const keyHistory = new KeyHistoryCheck(join(config.dataDir, 'session-keys.json'));
  let foreignBindings: string[] = [];
  const checkKeyHistory = (s: Session): void => {
    const foreign = keyHistory.check(toHex(s.keyId), s.ledgerKeyIds);
    if (foreign.length === 0) return;
    foreignBindings = [...new Set([...foreignBindings, ...foreign])];
    log.error({ foreign }, 'ALARM: the ledger has session key bindings for this meter that this agent did not make');
  };
  let enrolError: { code: string; message: string } | null = null;
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
        session = await enrol(ledgerRpc, { meterId: config.meterId, customerAccount: config.customerAccount, identity, firmwareHash, firstSeq: outbox.nextSeq(), log, ...(tls ? { tls } : {}) });
        outbox.addAnnouncement(toHex(session.keyId), session.announcement);
        checkKeyHistory(session);
        // the key and log that sign inclusion promises: from the identity certificate checked at registration
        promises.setLedger(session.ledgerPublicKey, decodeIdentityCertificate(decodeKeyAnnouncement(session.announcement).certificate).logOrigin);
        collectorUplink.kick();
        enrolError = null;
        return;
      } catch (err) {
        enrolError = { code: (err as { code?: string }).code ?? 'FAILED', message: (err as Error).message };
        log.warn({ attempt, err: (err as Error).message, code: (err as { code?: string }).code }, 'enrolment failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  })();

  // Reads and session-key rotations take turns: a rotation binds from outbox.nextSeq(), so no reading may be
  // signed with the old key while it runs (that seq would fall outside the old key's binding).
  let keyChain: Promise<unknown> = Promise.resolve();
  const withKeyLock = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = keyChain.then(fn, fn);
    keyChain = p.catch(() => undefined);
    return p;
  };
  const readNow = (): Promise<bigint> => withKeyLock(readNowUnlocked);
  const rotateSessionKey = (): Promise<{ keyId: string; firstSeq: bigint }> => withKeyLock(async () => {
    if (!session) throw new AgentError('NOT_ENROLLED', 'not enrolled yet: nothing to rotate');
    const next = await enrol(ledgerRpc, { meterId: config.meterId, customerAccount: config.customerAccount, identity, firmwareHash, firstSeq: outbox.nextSeq(), log, ...(tls ? { tls } : {}) });
    outbox.addAnnouncement(toHex(next.keyId), next.announcement);
    checkKeyHistory(next);
    session = next;
    collectorUplink.kick();
    return { keyId: toHex(next.keyId), firstSeq: next.firstSeq };
  });
  const sessionSchedule = config.sessionKeySchedule ? startSessionSchedule(config.sessionKeySchedule, rotateSessionKey, log) : null;

  async function readNowUnlocked(): Promise<bigint> {
    if (!session) throw new Error('not enrolled yet: no session key to sign with');
    const s = session;
    let snapshot: MeterSnapshot;
    try {
      if (!sourceOpen) await openSource();
      snapshot = await snapshotOf(source);
    } catch (err) {
      readErrors++;
      throw err;
    }
    // Throws METER_EXCHANGED (nothing signed, nothing queued) when the meter is not the pinned one.
    const judged = guard.judge(snapshot, BigInt(Date.now()), (deps.clockSync ?? clockSyncState)());
    const seq = outbox.enqueue((n) => signReading(buildReading(config.meterId, n, snapshot.samples, judged.context), s));
    guard.commit(judged);
    readsTaken++;
    await guard.afterReading(source, judged).catch((err: Error) => log.error({ err: err.message }, 'meter clock policy failed'));
    ledgerUplink.kick();
    collectorUplink.kick();
    return seq;
  }

  const schedule = (): void => {
    if (closed || !reading) return;
    timer = setTimeout(() => {
      inFlight = readNow()
        .then((seq) => log.debug({ seq: seq.toString() }, 'reading taken'))
        .catch((err: Error & { code?: string }) => {
          log.warn({ err: err.message, code: err.code }, 'reading failed');
          // a whole interval without a reading: a signed gap takes its seq (protocol gap.ts, docs/protocol.md §12)
          const s = session, to = BigInt(Date.now());
          // A meter exchange is not a serial failure: nothing at all is signed until an operator acts.
          if (s && err.code !== 'METER_EXCHANGED') outbox.enqueue((n) => {
            const gap = signGap({ meterId: config.meterId, firstSeq: n, lastSeq: n, fromMs: to - BigInt(config.intervalMs), toMs: to, reason: GapReason.SerialFailure, signer: '' }, { keyId: s.keyId, secretKey: s.key.secretKey });
            return { anchor: gap, delivery: gap };
          });
        })
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
    enrolError: () => enrolError,
    readNow,
    rotateSessionKey,
    foreignBindings: () => [...foreignBindings],
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
      promises: promises.stats(),
      brokenPromises: promises.stats().brokenPromises,
      meterExchange: guard.meterExchange,
      meterPin: guard.meterPin,
    }),
    clearMeterPin: (note?: string) => guard.clearMeterPin(note),
    correct: (req: CorrectionRequest) => withKeyLock(async () => {
      const s = session;
      if (!s) throw new AgentError('NOT_ENROLLED', 'not enrolled yet: no session key to sign a correction with');
      const seq = outbox.enqueue((n) => signedCorrection(config.meterId, n, outbox.deliveryAt(req.originalSeq), req, BigInt(Date.now()), s));
      log.info({ seq: seq.toString(), originalSeq: req.originalSeq.toString(), reason: req.reason }, 'correction signed and queued');
      ledgerUplink.kick();
      collectorUplink.kick();
      return seq;
    }),
    async close() {
      closed = true;
      await sessionSchedule?.stop();
      await stopReadings();
      await Promise.all([ledgerUplink.stop(), collectorUplink.stop()]);
      await Promise.all([ledgerRpc.close(), collectorRpc.close()]);
      await source.close().catch(() => undefined);
      outbox.close();
      promises.close();
      guard.close();
    },
  };
}

