import type { Command } from 'commander';
import { makeLogger } from '../logger.js';
import { intArg } from './args.js';
import { loadConfig } from '../config-file.js';
import { z } from 'zod';

/** What `--config FILE` may set for the demo; flags override it. */
export const DemoConfig = z
  .object({
    meters: z.number().int().min(1).max(1000).default(3),
    intervalMs: z.number().int().min(50).max(86_400_000).default(1000),
    durationS: z.number().int().min(1).max(31_536_000).nullable().default(null),
    tamper: z.number().int().min(0).max(1_000_000).default(2),
    reconcileEveryS: z.number().int().min(1).max(86_400).default(10),
    dataDir: z.string().min(1).optional(),
  })
  .strict();

interface DemoFlags {
  config?: string; meters?: number; interval?: number; duration?: number; tamper?: number; reconcileEvery?: number;
  json?: boolean; dataDir?: string; verbose?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run simulated meters, agents, ledger, collector and air-gap controller together and reconcile')
    .option('--config <file>', 'JSON file with any of meters, intervalMs, durationS, tamper, reconcileEveryS, dataDir')
    .option('--meters <n>', 'number of simulated meters (default: 3)', intArg('--meters', 1, 1000))
    .option('--interval <ms>', 'reading interval in milliseconds (default: 1000)', intArg('--interval', 50, 86_400_000))
    .option('--duration <s>', 'stop after this many seconds with a final reconciliation (default: until Ctrl-C)', intArg('--duration', 1, 31_536_000))
    .option('--tamper <n>', 'an insider alters N stored readings in the collector after the first reconciliation; the next runs and the dashboard locate them (default: 2; 0 to disable)', intArg('--tamper', 0, 1_000_000))
    .option('--reconcile-every <s>', 'seconds between scheduled reconciliations (default: 10)', intArg('--reconcile-every', 1, 86_400))
    .option('--json', 'print the final summary as one JSON object on stdout')
    .option('--data-dir <dir>', 'where every component keeps its files (default: a new temporary directory)')
    .option('--verbose', 'show every component log line (JSON on stderr)')
    .action(async (opts: DemoFlags) => {
      const c = loadConfig(DemoConfig, opts.config, {
        meters: opts.meters, intervalMs: opts.interval, durationS: opts.duration, tamper: opts.tamper,
        reconcileEveryS: opts.reconcileEvery, dataDir: opts.dataDir,
      });
      const log = makeLogger(opts.verbose ? 'debug' : (process.env.LOG_LEVEL ?? 'warn'));
      const say = (line: string): void => void (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
      const ac = new AbortController();
      const onSignal = (): void => {
        say('\nstopping: final reconciliation follows (Ctrl-C again to abort)');
        ac.abort();
        process.once('SIGINT', () => process.exit(130));
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const { runDemo } = await import('../demo/run-demo.js'); // the whole system: loaded only when the demo runs
      const summary = await runDemo({
        meters: c.meters, intervalMs: c.intervalMs, durationS: c.durationS, tamper: c.tamper,
        reconcileEveryMs: c.reconcileEveryS * 1000, log, say, signal: ac.signal,
        ...(c.dataDir ? { dataDir: c.dataDir } : {}),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ readings: summary.readings, reconciliation: summary.reconciliation, airgap: summary.airgap })}\n`);
      } else {
        const r = summary.reconciliation;
        say(`\nreadings: ${summary.readings.sent} sent, ${summary.readings.anchored} anchored, ${summary.readings.collected} collected`);
        say(`reconciliation: ${r.matched} matched, ${r.tampered} tampered, ${r.missing} missing, ${r.unanchored} unanchored`);
        say(`air gap: ${summary.airgap.windows} windows, now ${summary.airgap.open ? 'OPEN' : 'closed'}`);
        say(`files kept in ${summary.dataDir}`);
      }
      // Everything was closed; should a library keep a stray handle alive, do not hang the terminal.
      setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
    });
}
