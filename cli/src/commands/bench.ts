import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { intArg } from './args.js';

/**
 * The benchmarks' names, for --help. The benchmarks themselves (and through them every service package) are
 * imported only when `bench` runs, so that `meterseal agent` does not load them; bench-names.test.ts keeps this
 * list equal to BENCHMARKS.
 */
export const BENCH_NAMES = ['ed25519', 'protocol', 'ledger', 'collector', 'reconcile', 'serial', 'gateway', 'load'] as const;

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure throughput; every figure is a ratio against a reference measured in the same run (docs/performance.md)')
    .argument('[names...]', `benchmarks to run (default: all): ${BENCH_NAMES.join(', ')}`)
    .option('--json', 'print one JSON object {machine, startedAt, results} on stdout')
    .option('--n <n>', 'size of each benchmark run (anchors or readings; default per benchmark)', intArg('--n', 1, 10_000_000))
    .option('--out <dir>', 'where latest.json and latest.md are written', './bench-results')
    .action(async (names: string[], opts: { json?: boolean; n?: number; out: string }) => {
      const { runBenchmarks, selectBenchmarks } = await import('../bench/index.js');
      const { jsonReport, textReport, writeResults } = await import('../bench/report.js');
      let benchmarks;
      try {
        benchmarks = selectBenchmarks(names);
      } catch (err) {
        throw new CliError('BENCH_UNKNOWN', (err as Error).message, { cause: err });
      }
      const t0 = Date.now();
      const progress = (line: string): void => void process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
      const run = await runBenchmarks(benchmarks, opts.n === undefined ? { progress } : { n: opts.n, progress });
      const files = writeResults(opts.out, run);
      if (opts.json) process.stdout.write(`${jsonReport(run)}\n`);
      else process.stdout.write(`${textReport(run)}\nwritten: ${files.json}, ${files.markdown}\n`);
      progress(`done; results in ${files.json} and ${files.markdown}`);
      // Everything was closed; should a library keep a stray handle alive, do not hang the terminal.
      setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
    });
}
