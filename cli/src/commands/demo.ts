import type { Command } from 'commander';
import { makeLogger } from '../logger.js';
import { runDemo } from '../demo/run-demo.js';
import { intArg } from './args.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run simulated meters, agents, ledger, collector and air-gap controller together and reconcile')
    .option('--meters <n>', 'number of simulated meters', intArg('--meters', 1, 1000), 3)
    .option('--interval <ms>', 'reading interval in milliseconds', intArg('--interval', 50, 86_400_000), 1000)
    .option('--duration <s>', 'stop after this many seconds with a final reconciliation (default: until Ctrl-C)', intArg('--duration', 1, 31_536_000))
    .option('--tamper <n>', 'alter N stored readings in the collector before the final reconciliation', intArg('--tamper', 0, 1_000_000), 0)
    .option('--reconcile-every <s>', 'seconds between scheduled reconciliations', intArg('--reconcile-every', 1, 86_400), 10)
    .option('--json', 'print the final summary as one JSON object on stdout')
    .option('--data-dir <dir>', 'where every component keeps its files (default: a new temporary directory)')
    .option('--verbose', 'show every component log line (JSON on stderr)')
    .action(async (opts: { meters: number; interval: number; duration?: number; tamper: number; reconcileEvery: number; json?: boolean; dataDir?: string; verbose?: boolean }) => {
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
      const summary = await runDemo({
        meters: opts.meters, intervalMs: opts.interval, durationS: opts.duration ?? null, tamper: opts.tamper,
        reconcileEveryMs: opts.reconcileEvery * 1000, log, say, signal: ac.signal,
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
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
