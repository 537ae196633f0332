import type { Command } from 'commander';
import { join } from 'node:path';
import { AgentConfig, startAgent } from '@meterseal/device';
import { simulatorConfigSchema, startSimulator, createPtyPair } from '@meterseal/simulator';
import { LedgerConfigSchema, startLedger } from '@meterseal/ledger-service';
import { CollectorConfigSchema, startCollector } from '@meterseal/collector-system';
import { AirgapConfigSchema, startAirgap } from '@meterseal/airgap-controller';
import { loadConfig } from '../config-file.js';
import { makeLogger } from '../logger.js';
import { endpointArg, intArg } from './args.js';
import { runService } from './run-service.js';
import { loadSimState, saveSimState } from './sim-state.js';

interface Common { config?: string; dataDir?: string }

const withCommon = (c: Command): Command =>
  c.option('--config <file>', 'JSON config file (validated; flags override it)').option('--data-dir <dir>', 'directory for this component\'s files');

export function registerServices(program: Command): void {
  withCommon(program.command('ledger').description('run the ledger service: its MQTT broker (interface 1), the log, and the read-only query API'))
    .option('--mqtt-port <port>', 'embedded broker port', intArg('--mqtt-port', 0, 65535))
    .option('--http-port <port>', 'query API port', intArg('--http-port', 0, 65535))
    .option('--whitelist <file>', 'JSON whitelist of meter ids and customer accounts')
    .action(async (o: Common & { mqttPort?: number; httpPort?: number; whitelist?: string }) => {
      const config = loadConfig(LedgerConfigSchema, o.config, {
        dataDir: o.dataDir ?? './data/ledger', mqtt: { port: o.mqttPort }, http: { port: o.httpPort }, whitelistFile: o.whitelist,
      });
      await runService('ledger', async (log) => {
        const h = await startLedger(config, { log });
        log.info({ mqtt: h.mqttUrl, http: h.httpUrl, verifierKey: h.verifierKey }, 'ledger ready');
        return h;
      });
    });

  const collector = withCommon(program.command('collector').description('run the collection system (interface 2), or reconcile with `collector reconcile`'))
    .option('--mqtt-port <port>', 'embedded broker port', intArg('--mqtt-port', 0, 65535))
    .option('--ledger-key-dir <dir>', 'directory holding the ledger\'s ledger.pub and ledger.vkey (the trust anchor)')
    .action(async (o: Common & { mqttPort?: number; ledgerKeyDir?: string }) => {
      const config = loadConfig(CollectorConfigSchema, o.config, {
        dataDir: o.dataDir ?? './data/collector', mqtt: { port: o.mqttPort }, trust: { ledgerKeyDir: o.ledgerKeyDir },
      });
      await runService('collector', async (log) => startCollector(config, { log }));
    });
  withCommon(collector.command('reconcile').description('open an air-gap window, compare stored readings with the ledger\'s hashes, print and store the report'))
    .option('--ledger-key-dir <dir>', 'directory holding ledger.pub and ledger.vkey')
    .requiredOption('--airgap <host:port>', 'the air-gap controller\'s control address', endpointArg('--airgap'))
    .option('--reason <text>', 'why this window is opened (audited)', 'operator reconciliation')
    .option('--json', 'print the whole report as JSON')
    .action(async (_o: unknown, cmd: Command) => {
      // the parent `collector` command shares --data-dir, --config and --ledger-key-dir: read both levels
      const o = cmd.optsWithGlobals<Common & { ledgerKeyDir?: string; airgap: { host: string; port: number }; reason: string; json?: boolean }>();
      const config = loadConfig(CollectorConfigSchema, o.config, {
        dataDir: o.dataDir ?? './data/collector', mqtt: { embedded: false, url: 'mqtt://127.0.0.1:1' }, trust: { ledgerKeyDir: o.ledgerKeyDir },
      });
      const log = makeLogger(process.env.LOG_LEVEL ?? 'warn', 'meterseal-reconcile');
      const h = await startCollector({ ...config, ingest: false }, { log });
      try {
        const report = await h.reconcile({ reason: o.reason, airgap: o.airgap });
        if (o.json) process.stdout.write(`${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
        else {
          process.stdout.write(`checkpoint ${report.checkpoint.origin} size ${report.checkpoint.size}\n${JSON.stringify(report.counts)}\n`);
          for (const it of report.items) process.stdout.write(`${it.outcome}\t${it.meterId}\t${it.seq}\n`);
        }
        process.exitCode = report.counts.tampered + report.counts.missing + report.counts.unanchored > 0 ? 2 : 0;
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
      const dataDir = o.dataDir ?? './data/airgap';
      const config = loadConfig(AirgapConfigSchema, o.config, {
        target: o.target, control: o.controlPort !== undefined ? { port: o.controlPort } : undefined,
        relay: o.relayPort !== undefined ? { port: o.relayPort } : undefined, maxWindowMs: o.maxWindow, auditLog: join(dataDir, 'audit.jsonl'),
      });
      await runService('airgap', async (log) => {
        const h = await startAirgap(config, { log });
        log.info({ control: h.controlAddress }, 'air-gap controller ready (closed)');
        return h;
      });
    });

  withCommon(program.command('agent').description('run the meter agent: read the meter over serial, sign, and send by both interfaces'))
    .option('--meter-id <id>', 'this meter\'s id')
    .option('--account <account>', 'the customer account the meter is registered to')
    .option('--serial <path>', 'serial device of the meter (e.g. /dev/ttyUSB0)')
    .option('--interval <ms>', 'reading interval', intArg('--interval', 50, 86_400_000))
    .option('--ledger <url>', 'interface 1 broker URL')
    .option('--collector <url>', 'interface 2 broker URL')
    .action(async (o: Common & { meterId?: string; account?: string; serial?: string; interval?: number; ledger?: string; collector?: string }) => {
      const config = loadConfig(AgentConfig, o.config, {
        dataDir: o.dataDir ?? './data/agent', meterId: o.meterId, customerAccount: o.account,
        serial: o.serial ? { path: o.serial } : undefined, intervalMs: o.interval,
        ledger: o.ledger ? { url: o.ledger } : undefined, collector: o.collector ? { url: o.collector } : undefined,
      });
      await runService('agent', async (log) => startAgent(config, { log }));
    });

  withCommon(program.command('sim').description('run a simulated meter serving Modbus RTU on a serial device (or on a new pty pair with --pty)'))
    .option('--port <path>', 'serial device to serve on')
    .addHelpText('after', '\n--data-dir keeps the energy register (sim-state.json) across restarts, as a real meter does.')
    .option('--pty', 'create a socat pty pair and print the path the agent should open')
    .option('--unit-id <n>', 'Modbus unit id', intArg('--unit-id', 1, 247))
    .option('--profile <id>', 'meter profile from hardware/profiles')
    .option('--seed <n>', 'seed of the load model', intArg('--seed', 0, 0xffffffff))
    .action(async (o: Common & { port?: string; pty?: boolean; unitId?: number; profile?: string; seed?: number }) => {
      const pair = o.pty ? await createPtyPair() : null;
      const savedEnergy = o.dataDir ? loadSimState(o.dataDir) : undefined;
      const config = loadConfig(simulatorConfigSchema, o.config, {
        path: pair ? pair.a : o.port, unitId: o.unitId, profile: o.profile, seed: o.seed, initialEnergyWh: savedEnergy,
      });
      await runService('sim', async (log) => {
        const h = await startSimulator(config, { log });
        if (pair) process.stdout.write(`meter serving on ${pair.a}; point the agent at ${pair.b}\n`);
        const save = (): void => {
          if (o.dataDir) saveSimState(o.dataDir, h.model.energyImportMilliWh());
        };
        const timer = setInterval(save, 10_000);
        return {
          close: async () => {
            clearInterval(timer);
            save();
            await h.close();
            await pair?.close();
          },
        };
      });
    });
}
