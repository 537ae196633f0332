import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config-file.js';
import { intArg } from './args.js';
import { runService } from './run-service.js';
import { CliError } from '../errors.js';

/** The ledger's period logs' directory name (ledger-service period-set.ts PERIODS_DIR), not imported: the CLI loads services lazily. */
const PERIODS_DIR = 'periods';

function ledgerVkey(dir: string): string {
  try {
    return readFileSync(join(dir, 'ledger.vkey'), 'utf8').trim();
  } catch (err) {
    throw new CliError('NO_LEDGER_VKEY', `cannot read ${join(dir, 'ledger.vkey')}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The log a witness started with --ledger-key-dir watches: the ledger's verifier key name is its origin
 * (c2sp.org/signed-note); it rotates (docs/ledger.md §The standalone witness across periods) when --rotates says
 * so, else when the ledger's data directory holds period logs.
 */
export function witnessedLog(vkey: string, ledgerKeyDir: string, rotates?: boolean): { origin: string; verifierKey: string; rotates: boolean } {
  const plus = vkey.indexOf('+');
  if (plus <= 0) throw new CliError('BAD_LEDGER_VKEY', `${join(ledgerKeyDir, 'ledger.vkey')} is not a note verifier key (origin+keyhash+key)`);
  return { origin: vkey.slice(0, plus), verifierKey: vkey, rotates: rotates ?? existsSync(join(ledgerKeyDir, PERIODS_DIR)) };
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
    .option('--rotates', 'the ledger rotates its log by period: accept <origin>/<period> logs, each new one only through its link (default: on when <ledger-key-dir>/periods exists)')
    .action(async (o: { config?: string; dataDir?: string; httpPort?: number; name?: string; ledgerKeyDir?: string; rotates?: boolean }) => {
      const vkey = o.ledgerKeyDir ? ledgerVkey(o.ledgerKeyDir) : undefined;
      const { WitnessConfigSchema, startWitness } = await import('@meterseal/witness'); // loaded only when it runs
      const config = loadConfig(WitnessConfigSchema, o.config, {
        dataDir: o.dataDir, name: o.name, http: { port: o.httpPort },
        logs: vkey ? [witnessedLog(vkey, o.ledgerKeyDir!, o.rotates)] : undefined,
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
