// `meterseal`: one command, a subcommand per component.
import { Command, CommanderError } from 'commander';
import { registerBench } from './commands/bench.js';
import { registerDemo } from './commands/demo.js';
import { registerGateway } from './commands/gateway.js';
import { registerServices } from './commands/services.js';
import { registerWitness } from './commands/witness.js';
import { registerVerify } from './commands/verify.js';
import { CliError } from './errors.js';

const program = new Command('meterseal')
  .description('MeterSeal: tamper-evident smart-meter readings — signed at the meter, anchored in a transparency log, reconciled across an air gap')
  .version('0.1.0')
  .showHelpAfterError('(add --help for usage)');
registerDemo(program);
registerServices(program);
registerGateway(program);
registerWitness(program);
registerVerify(program);
registerBench(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const e = err as Error & { code?: string };
  process.stderr.write(`meterseal: ${e instanceof CliError || e.code ? `${e.message}` : e.stack ?? e.message}\n`);
  process.exit(1);
}
