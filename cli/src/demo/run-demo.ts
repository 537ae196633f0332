// `meterseal demo`: the whole system on embedded defaults — simulated meters on serial links, agents,
// the ledger with its broker, the collector with its broker, and the air-gap controller — reconciling
// periodically and once more at the end.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { startAgent, type AgentHandle } from '@meterseal/device';
import { startSimulator, type SimulatorHandle } from '@meterseal/simulator';
import { startLedger } from '@meterseal/ledger-service';
import { hashPassword, startCollector, tamperStoredReadings, type TamperedReading } from '@meterseal/collector-system';
import { loadControllerKey, startAirgap } from '@meterseal/airgap-controller';
import { randomBytes } from 'node:crypto';
import { serialLinkFactory, type SerialLink } from './serial-links.js';

export interface DemoOptions {
  meters: number;
  intervalMs: number;
  /** Stop after this many seconds; null runs until `signal` aborts. */
  durationS: number | null;
  tamper: number;
  dataDir?: string;
  reconcileEveryMs: number;
  log: Logger;
  /** Human progress lines (stderr when --json). */
  say: (line: string) => void;
  signal?: AbortSignal;
}

export interface DemoSummary {
  readings: { sent: number; anchored: number; collected: number };
  reconciliation: { matched: number; tampered: number; missing: number; unanchored: number };
  airgap: { windows: number; open: boolean };
  serial: 'pty' | 'in-process';
  tampered: { meterId: string; seq: string }[];
  located: { meterId: string; seq: string; outcome: string }[];
  dataDir: string;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'meterseal-demo-'));
  mkdirSync(dataDir, { recursive: true });
  const log = o.log;
  const meterIds = Array.from({ length: o.meters }, (_, i) => `DDSU666-${String(i + 1).padStart(6, '0')}`);
  const closers: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch((err: Error) => log.warn({ err: err.message }, 'shutdown step failed'));
  };

  const dashboardPassword = randomBytes(12).toString('base64url');
  let tampered: TamperedReading[] = [];
  try {
    o.say(`data directory: ${dataDir}`);
    const ledgerDir = join(dataDir, 'ledger');
    mkdirSync(ledgerDir, { recursive: true });
    writeFileSync(join(ledgerDir, 'whitelist.json'), JSON.stringify({ meters: meterIds.map((meterId, i) => ({ meterId, customerAccount: `ACC-${1000 + i}` })) }, null, 2));
    // the air-gap controller signs an AirgapWindow record for every open and close; the ledger accepts its key
    const controllerKeyFile = join(dataDir, 'airgap', 'controller.key');
    const controllerKey = Buffer.from(loadControllerKey(controllerKeyFile).publicKey).toString('hex');
    const ledger = await startLedger(
      { dataDir: ledgerDir, mqtt: { port: 0 }, http: { port: 0 }, airgapControllerKeys: [controllerKey], metrics: { enabled: true, port: 0 } },
      { log: log.child({ component: 'ledger' }) },
    );
    closers.push(() => ledger.close());
    o.say(`ledger: MQTT ${ledger.mqttUrl}, query API ${ledger.httpUrl} (reachable only through the air gap)`);

    const api = new URL(ledger.httpUrl);
    const airgap = await startAirgap(
      {
        target: { host: api.hostname, port: Number(api.port) }, auditLog: join(dataDir, 'airgap', 'audit.jsonl'), maxWindowMs: 60_000,
        ledgerRecord: { url: ledger.httpUrl, keyFile: controllerKeyFile },
      },
      { log: log.child({ component: 'airgap' }) },
    );
    closers.push(() => airgap.close());
    o.say(`air-gap controller: control ${airgap.controlAddress.host}:${airgap.controlAddress.port}, closed`);
    const collector = await startCollector(
      // the meters' interval: readings newer than two of them are pending, not missing (docs/ledger.md)
      {
        dataDir: join(dataDir, 'collector'), mqtt: { port: 0 }, trust: { ledgerKeyDir: ledgerDir }, readingIntervalMs: Math.max(1000, o.intervalMs),
        airgap: airgap.controlAddress,
        dashboard: { enabled: true, port: 0, operators: [{ name: 'operator', passwordHash: hashPassword(dashboardPassword) }], airgapAuditLog: join(dataDir, 'airgap', 'audit.jsonl') },
        metrics: { enabled: true, port: 0 },
      },
      { log: log.child({ component: 'collector' }) },
    );
    closers.push(() => collector.close());
    o.say(`collector: MQTT ${collector.mqttUrl}`);
    o.say(`dashboard: ${collector.dashboardUrl ?? '-'}  (log in as operator / ${dashboardPassword}; this password is shown only once)`);
    o.say(`metrics: collector ${collector.metricsUrl ?? '-'}, ledger ${ledger.metricsUrl ?? '-'}`);

    const reconcile = (reason: string) =>
      collector.reconcile({ reason, airgap: airgap.controlAddress, maxMs: 30_000 });

    const links = await serialLinkFactory();
    if (links.kind === 'in-process') o.say('socat not found: meters and agents share an in-process serial link instead of pty pairs');
    const agents: AgentHandle[] = [];
    const sims: SimulatorHandle[] = [];
    for (const [i, meterId] of meterIds.entries()) {
      const link: SerialLink = await links.create();
      closers.push(() => link.close());
      const sim = await startSimulator(
        { ...('path' in link.meterSide ? { path: link.meterSide.path } : {}), seed: i + 1, initialEnergyWh: 1_000_000 + i * 250_000 },
        { log: log.child({ component: 'sim', meterId }), ...('stream' in link.meterSide ? { stream: link.meterSide.stream } : {}) },
      );
      closers.push(() => sim.close());
      sims.push(sim);
      const agent = await startAgent(
        {
          dataDir: join(dataDir, 'agents', meterId),
          meterId,
          customerAccount: `ACC-${1000 + i}`,
          serial: { ...('path' in link.agentSide ? { path: link.agentSide.path } : {}), timeoutMs: 500 },
          intervalMs: o.intervalMs,
          ledger: { url: ledger.mqttUrl },
          collector: { url: collector.mqttUrl },
        },
        { log: log.child({ component: 'agent' }), ...('port' in link.agentSide ? { port: link.agentSide.port } : {}) },
      );
      closers.push(() => agent.close());
      agents.push(agent);
      o.say(`meter ${meterId}: simulator and agent on ${link.describe}`);
    }
    await Promise.all(agents.map((a) => a.enrolled));
    o.say(`${agents.length} meters registered, authenticated and bound a session key; readings every ${o.intervalMs} ms`);

    const started = Date.now();
    const progress = (): string => {
      const sent = agents.reduce((n, a) => n + a.stats().readsTaken, 0);
      return `${Math.round((Date.now() - started) / 1000)}s: ${sent} readings taken, ${ledger.stats().anchored} anchored, ${collector.stats().collected} collected`;
    };
    let nextReconcile = Date.now() + o.reconcileEveryMs;
    const until = o.durationS === null ? Infinity : started + o.durationS * 1000;
    while (Date.now() < until && !o.signal?.aborted) {
      await sleep(Math.min(2000, Math.max(0, until - Date.now())), o.signal);
      o.say(progress());
      if (Date.now() >= nextReconcile && Date.now() < until) {
        const r = await reconcile('scheduled reconciliation');
        o.say(`reconciliation: ${JSON.stringify(r.counts)}, ${r.traffic?.requests ?? '?'} request(s) across the gap, witness ${r.witness?.status ?? '-'} (readings in flight are pending)`);
        nextReconcile = Date.now() + o.reconcileEveryMs;
        if (o.tamper > 0 && tampered.length === 0) {
          // the insider strikes while the demo runs, so the next run (and the dashboard) locates the edits
          tampered = tamperStoredReadings(collector.store, Math.min(o.tamper, collector.stats().collected));
          for (const t of tampered) o.say(`insider edit: changed the stored energy value of ${t.meterId} seq ${t.seq} (the next reconciliation will locate it)`);
        }
      }
    }

    o.say('stopping readings; waiting until both interfaces have delivered everything');
    await Promise.all(agents.map((a) => a.stopReadings()));
    const drainDeadline = Date.now() + 30_000;
    while (!agents.every((a) => a.drained()) && Date.now() < drainDeadline) await sleep(200);
    if (!agents.every((a) => a.drained())) o.say('warning: not every reading was acknowledged within 30 s');

    if (o.tamper > 0 && tampered.length === 0) {
      tampered = tamperStoredReadings(collector.store, o.tamper);
      for (const t of tampered) o.say(`insider edit: changed the stored energy value of ${t.meterId} seq ${t.seq}`);
    }
    const report = await reconcile('final reconciliation');
    const located = report.items.map((it) => ({ meterId: it.meterId, seq: String(it.seq), outcome: it.outcome }));
    o.say(`final reconciliation: per-meter roots compared, the ledger's tree walked where they differ: ${report.traffic?.requests ?? '?'} request(s), ${report.traffic?.bytes ?? '?'} bytes across the gap; the collector ${report.witness?.status === 'alarm' ? `RAISED A WITNESS ALARM: ${report.witness.alarm?.message}` : `cosigned checkpoint ${report.checkpoint.size} as a witness`}`);
    for (const it of report.items) {
      const values = it.outcome === 'tampered' && it.collected ? `  stored energy ${it.collected.registers[0]?.value ?? '?'} ${it.collected.registers[0]?.unit ?? ''} (the ledger holds only the original's hash)` : '';
      o.say(`  ${it.outcome.padEnd(10)} ${it.meterId} seq ${it.seq}${values}`);
    }
    const stats = airgap.stats();
    return {
      readings: {
        sent: agents.reduce((n, a) => n + a.stats().outbox.readings, 0),
        anchored: ledger.stats().anchored,
        collected: collector.stats().collected,
      },
      reconciliation: {
        matched: report.counts.matched, tampered: report.counts.tampered, missing: report.counts.missing, unanchored: report.counts.unanchored,
      },
      airgap: { windows: stats.windows, open: stats.open },
      serial: links.kind,
      tampered: tampered.map((t) => ({ meterId: t.meterId, seq: String(t.seq) })),
      located,
      dataDir,
    };
  } finally {
    await cleanup();
  }
}
