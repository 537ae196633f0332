import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReconcileProgress } from '@meterseal/collector-system';
import { loadConfig } from '../config-file.js';
import { makeLogger } from '../logger.js';
import { endpointArg, intArg } from './args.js';
import { registerAgentRead } from './agent-read.js';
import { registerLedgerAdmin } from './ledger-admin.js';
import { runService } from './run-service.js';
import { registerSim } from './sim.js';

interface Common { config?: string; dataDir?: string }

const withCommon = (c: Command): Command =>
  c.option('--config <file>', 'JSON config file (validated; flags override it)').option('--data-dir <dir>', 'directory for this component\'s files');

// Each component is imported only when its command runs (`await import` in the action): a meter agent on a
// Raspberry Pi should not load the ledger, the collector and their dependencies just to parse its arguments.
export function registerServices(program: Command): void {
  const ledgerCmd = withCommon(program.command('ledger').description('run the ledger service: its MQTT broker (interface 1), the log, and the read-only query API'))
    .option('--mqtt-port <port>', 'embedded broker port', intArg('--mqtt-port', 0, 65535))
    .option('--http-port <port>', 'query API port', intArg('--http-port', 0, 65535))
    .option('--whitelist <file>', 'JSON whitelist of meter ids and customer accounts')
    .action(async (o: Common & { mqttPort?: number; httpPort?: number; whitelist?: string }) => {
      const { LedgerConfigSchema, startLedger } = await import('@meterseal/ledger-service');
      const config = loadConfig(LedgerConfigSchema, o.config, {
        dataDir: o.dataDir, mqtt: { port: o.mqttPort }, http: { port: o.httpPort }, whitelistFile: o.whitelist,
      }, { dataDir: './data/ledger' });
      await runService('ledger', async (log) => {
        const h = await startLedger(config, { log });
        log.info({ mqtt: h.mqttUrl, http: h.httpUrl, admin: h.adminUrl, verifierKey: h.verifierKey }, 'ledger ready');
        return h;
      });
    });
  registerLedgerAdmin(ledgerCmd); // import-meters, revoke, approve-exchange (ledger-admin.ts)

  const collector = withCommon(program.command('collector').description('run the collection system (interface 2), or reconcile with `collector reconcile`'))
    .option('--mqtt-port <port>', 'embedded broker port', intArg('--mqtt-port', 0, 65535))
    .option('--ledger-key-dir <dir>', 'directory holding the ledger\'s ledger.pub and ledger.vkey (the trust anchor)')
    .action(async (o: Common & { mqttPort?: number; ledgerKeyDir?: string }) => {
      const { CollectorConfigSchema, startCollector } = await import('@meterseal/collector-system');
      const config = loadConfig(CollectorConfigSchema, o.config, {
        dataDir: o.dataDir, mqtt: { port: o.mqttPort }, trust: { ledgerKeyDir: o.ledgerKeyDir },
      }, { dataDir: './data/collector' });
      await runService('collector', async (log) => startCollector(config, { log }));
    });
  collector.command('hash-password').description('read a dashboard operator password from stdin; print its scrypt hash for dashboard.operators')
    .action(async () => {
      const { hashPassword } = await import('@meterseal/collector-system');
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      if (password.length < 8) throw new Error('the password must be at least 8 characters');
      process.stdout.write(`${hashPassword(password)}\n`);
    });
  withCommon(collector.command('reconcile').description('open an air-gap window, compare stored readings with the ledger\'s hashes, print and store the report'))
    .option('--ledger-key-dir <dir>', 'directory holding ledger.pub and ledger.vkey')
    .requiredOption('--airgap <host:port>', 'the air-gap controller\'s control address', endpointArg('--airgap'))
    .option('--reason <text>', 'why this window is opened (audited)', 'operator reconciliation')
    .option('--json', 'print the whole report as JSON')
    .option('--export <file>', 'also write the report to FILE (see --format)')
    .option('--format <format>', 'export format: json or csv (one row per divergence)', 'json')
    .option('--from <iso>', 'only readings taken at or after this UTC time (ISO-8601, e.g. 2026-11-21T00:00:00Z)')
    .option('--to <iso>', 'only readings taken at or before this UTC time (ISO-8601)')
    .action(async (_o: unknown, cmd: Command) => {
      // the parent `collector` command shares --data-dir, --config and --ledger-key-dir: read both levels
      const o = cmd.optsWithGlobals<Common & { ledgerKeyDir?: string; airgap: { host: string; port: number }; reason: string; json?: boolean; export?: string; format: string; from?: string; to?: string }>();
      if (o.format !== 'json' && o.format !== 'csv') throw new Error(`--format must be json or csv, not ${o.format.slice(0, 20)}`);
      const format = o.format;
      const fromMs = o.from === undefined ? 0 : Date.parse(o.from);
      const toMs = o.to === undefined ? 8.64e15 : Date.parse(o.to);
      if (Number.isNaN(fromMs) || Number.isNaN(toMs) || toMs < fromMs) throw new Error('--from and --to must be ISO-8601 UTC times, --from not after --to');
      const range = o.from === undefined && o.to === undefined ? undefined : { fromMs, toMs };
      const { CollectorConfigSchema, exportReport, progressBar, startCollector } = await import('@meterseal/collector-system');
      const config = loadConfig(CollectorConfigSchema, o.config, {
        dataDir: o.dataDir, mqtt: { embedded: false, url: 'mqtt://127.0.0.1:1' }, trust: { ledgerKeyDir: o.ledgerKeyDir },
      }, { dataDir: './data/collector' });
      const log = makeLogger(process.env.LOG_LEVEL ?? 'warn', 'meterseal-reconcile');
      const h = await startCollector({ ...config, ingest: false }, { log });
      try {
        // a progress bar only on a terminal (stderr when stdout is piped would mix with logs)
        const onProgress = process.stdout.isTTY ? (p: ReconcileProgress) => process.stdout.write(`\r${progressBar(p)}\x1b[K`) : undefined;
        const report = await h.reconcile({ reason: o.reason, airgap: o.airgap, ...(onProgress ? { onProgress } : {}), ...(range ? { range } : {}) });
        if (onProgress) process.stdout.write('\n');
        if (o.export) writeFileSync(o.export, exportReport(report, format));
        if (o.json) process.stdout.write(`${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
        else {
          process.stdout.write(`checkpoint ${report.checkpoint.origin} size ${report.checkpoint.size}  outcome ${report.outcome ?? '?'}  witness ${report.witness?.status ?? '-'}\n${JSON.stringify(report.counts)}\n`);
          if (report.witness?.alarm) process.stdout.write(`WITNESS ALARM ${report.witness.alarm.code}: ${report.witness.alarm.message}\n`);
          if (report.chain?.alarm) process.stdout.write(`CHAIN ALARM ${report.chain.alarm.code}: ${report.chain.alarm.message}\n`);
          if (report.silentMeters?.length) process.stdout.write(`silent meters: ${report.silentMeters.join(' ')}\n`);
          for (const it of report.items) process.stdout.write(`${it.outcome}\t${it.meterId}\t${it.seq}\n`);
          for (const it of report.explained ?? []) process.stdout.write(`explained\t${it.meterId}\t${it.seq}..${it.lastSeq}\t${it.reason}\n`);
          for (const it of report.adjusted ?? []) process.stdout.write(`adjusted\t${it.meterId}\t${it.seq}\tby seq ${it.corrected.seq}\n`);
        }
        process.exitCode = report.outcome === 'alarm' ? 3 : report.counts.tampered + report.counts.missing + report.counts.unanchored > 0 ? 2 : 0;
      } finally {
        await h.close();
      }
    });

  withCommon(program.command('airgap').description('run the air-gap controller: the only, time-limited route from collector to ledger'))
    .option('--target <host:port>', 'the ledger query API', endpointArg('--target'))
    .option('--control-port <port>', 'control port', intArg('--control-port', 0, 65535))
    .option('--relay-port <port>', 'relay port (listening only during a window)', intArg('--relay-port', 0, 65535))
    .option('--max-window <ms>', 'hard maximum window duration', intArg('--max-window', 1, 86_400_000))
    .action(async (o: Common & { target?: { host: string; port: number }; controlPort?: number; relayPort?: number; maxWindow?: number }) => {
      const { AirgapConfigSchema, startAirgap } = await import('@meterseal/airgap-controller');
      const config = loadConfig(AirgapConfigSchema, o.config, {
        target: o.target, control: o.controlPort !== undefined ? { port: o.controlPort } : undefined,
        relay: o.relayPort !== undefined ? { port: o.relayPort } : undefined, maxWindowMs: o.maxWindow,
        auditLog: o.dataDir !== undefined ? join(o.dataDir, 'audit.jsonl') : undefined,
      }, { auditLog: join('./data/airgap', 'audit.jsonl') });
      await runService('airgap', async (log) => {
        const h = await startAirgap(config, { log });
        log.info({ control: h.controlAddress }, 'air-gap controller ready (closed)');
        return h;
      });
    });

  const agentCmd = withCommon(program.command('agent').description('run the meter agent: read the meter over serial, sign, and send by both interfaces'))
    .option('--meter-id <id>', 'this meter\'s id')
    .option('--account <account>', 'the customer account the meter is registered to')
    .option('--serial <path>', 'serial device of the meter (e.g. /dev/ttyUSB0)')
    .option('--interval <ms>', 'reading interval', intArg('--interval', 50, 86_400_000))
    .option('--ledger <url>', 'interface 1 broker URL')
    .option('--collector <url>', 'interface 2 broker URL')
    .action(async (o: Common & { meterId?: string; account?: string; serial?: string; interval?: number; ledger?: string; collector?: string }) => {
      const { AgentLaunchConfig, provisioningConsole } = await import('@meterseal/device');
      const config = loadConfig(AgentLaunchConfig, o.config, {
        dataDir: o.dataDir, meterId: o.meterId, customerAccount: o.account,
        serial: o.serial ? { path: o.serial } : undefined, intervalMs: o.interval,
        ledger: o.ledger ? { url: o.ledger } : undefined, collector: o.collector ? { url: o.collector } : undefined,
      }, { dataDir: './data/agent' });
      // with config.console the agent serves the provisioning console and may start unprovisioned
      await runService('agent', async (log) => provisioningConsole.startConsoleAgent(config, { log }));
    });
  registerAgentRead(agentCmd); // `meterseal agent read`: one scan, printed (agent-read.ts)

  registerSim(program);
}
