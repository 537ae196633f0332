import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config-file.js';
import { intArg } from './args.js';
import { runService } from './run-service.js';
import { CliError } from '../errors.js';

function ledgerVkey(dir: string): string {
  try {
    return readFileSync(join(dir, 'ledger.vkey'), 'utf8').trim();
  } catch (err) {
    throw new CliError('NO_LEDGER_VKEY', `cannot read ${join(dir, 'ledger.vkey')}: ${(err as Error).message}`, { cause: err });
  }
}

export function registerWitness(program: Command): void {
  const witness = program
    .command('witness')
    .description('run a transparency-log witness (C2SP tlog-witness): cosign only ledger checkpoints consistent with the last one it cosigned')
    .option('--config <file>', 'JSON config file (validated; flags override it)')
    .option('--data-dir <dir>', "directory for the witness's key and state")
    .option('--http-port <port>', 'add-checkpoint port', intArg('--http-port', 0, 65535))
    .option('--name <name>', 'witness key name on its cosignature lines')
    .option('--ledger-key-dir <dir>', "directory holding the ledger's ledger.vkey (the log to witness)")
    .action(async (o: { config?: string; dataDir?: string; httpPort?: number; name?: string; ledgerKeyDir?: string }) => {
      const vkey = o.ledgerKeyDir ? ledgerVkey(o.ledgerKeyDir) : undefined;
      const { WitnessConfigSchema, startWitness } = await import('@meterseal/witness'); // loaded only when it runs
      const config = loadConfig(WitnessConfigSchema, o.config, {
        dataDir: o.dataDir, name: o.name, http: { port: o.httpPort },
        // the ledger's verifier key name is its origin (c2sp.org/signed-note)
        logs: vkey ? [{ origin: vkey.slice(0, vkey.indexOf('+')), verifierKey: vkey }] : undefined,
      }, { dataDir: './data/witness' });
      await runService('witness', async (log) => {
        const h = await startWitness(config, { log });
        log.info({ url: h.url, verifierKey: h.verifierKey }, 'witness ready');
        return h;
      });
    });
  witness
    .command('feed')
    .description("send the ledger's latest checkpoint and a consistency proof to a witness; print its cosignature")
    .requiredOption('--ledger <url>', 'the ledger query API, e.g. http://127.0.0.1:8480')
    .requiredOption('--witness <url>', 'the witness, e.g. http://127.0.0.1:8580')
    .action(async (o: { ledger: string; witness: string }) => {
      const { feedWitness } = await import('@meterseal/witness');
      const r = await feedWitness({ ledgerUrl: o.ledger, witnessUrl: o.witness, state: {} });
      process.stdout.write(`cosigned size ${r.size}\n${r.cosignature}`);
    });
}
