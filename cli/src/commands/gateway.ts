// `meterseal gateway`: the edge gateway (data concentrator) as a service, like `meterseal agent`.
import type { Command } from 'commander';
import { loadConfig } from '../config-file.js';
import { intArg } from './args.js';
import { startSdNotify } from './gateway-notify.js';
import { runService } from './run-service.js';

interface GatewayOptions {
  config?: string;
  dataDir?: string;
  gatewayId?: string;
  bus?: string;
  interval?: number;
  ledger?: string;
  collector?: string;
  localBrokerPort?: number;
}

export function registerGateway(program: Command): void {
  program
    .command('gateway')
    .description('run the edge gateway: poll the meters on one RS-485 bus, sign for them with gateway-held keys, deliver by both interfaces, and forward meters\' own signed traffic')
    .option('--config <file>', 'JSON config file (validated; flags override it)')
    .option('--data-dir <dir>', 'directory for this component\'s files')
    .option('--gateway-id <id>', 'this gateway\'s id (named in what it signs for its meters)')
    .option('--bus <path>', 'serial device of the RS-485 bus (e.g. /dev/meterseal-rs485)')
    .option('--interval <ms>', 'polling interval', intArg('--interval', 50, 86_400_000))
    .option('--ledger <url>', 'interface 1 broker URL')
    .option('--collector <url>', 'interface 2 broker URL')
    .option('--local-broker-port <port>', 'serve the local broker for self-signing meters on this port', intArg('--local-broker-port', 0, 65535))
    .addHelpText('after', '\nThe meters on the bus are listed in the config file: "meters": [{ "meterId", "customerAccount", "unitId" | "address" }].\nSee hardware/deploy/config/gateway.json and edge-gateway/README.md.')
    .action(async (o: GatewayOptions) => {
      const { GatewayConfig, startGateway } = await import('@meterseal/edge-gateway'); // loaded only when it runs
      const config = loadConfig(GatewayConfig, o.config, {
        dataDir: o.dataDir, gatewayId: o.gatewayId, intervalMs: o.interval,
        bus: o.bus ? { path: o.bus } : undefined,
        ledger: o.ledger ? { url: o.ledger } : undefined, collector: o.collector ? { url: o.collector } : undefined,
        localBroker: o.localBrokerPort !== undefined ? { enabled: true, port: o.localBrokerPort } : undefined,
      }, { dataDir: './data/gateway' });
      await runService('gateway', async (log) => {
        const h = await startGateway(config, { log });
        const sd = startSdNotify(log, () => h.stats().polling);
        log.info({ localBroker: h.localBrokerUrl, meters: config.meters.length }, 'gateway ready');
        return { close: async () => { sd.stop(); await h.close(); } };
      });
    });
}
