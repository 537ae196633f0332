// Entry point of the `meterctl` command.
import { buildProgram } from './program.js';

await buildProgram().parseAsync(process.argv);
