// `meterctl ports` | `meterctl --port PATH <console command ...>` | `meterctl --port PATH --credential FILE
// --key FILE provision FILE.json`.
import { Command } from 'commander';
import { ConsoleClient, loadCredential, loadTechnicianKey, SIGNED_COMMANDS, type Exchange } from './client.js';
import { MeterctlError } from './errors.js';
import { formatAnswer } from './format.js';
import { listPorts } from './ports.js';
import { loadProvisionFile, provision } from './provision.js';

interface GlobalOptions { port?: string; json?: boolean; credential?: string; key?: string; baud: string; timeout: string }

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  setExitCode: (n: number) => void;
}

const defaultIo: Io = { out: (s) => console.log(s), err: (s) => console.error(s), setExitCode: (n) => (process.exitCode = n) };

export function buildProgram(io: Io = defaultIo): Command {
  const program = new Command('meterctl')
    .description('Provision a MeterSeal meter agent over its USB serial console')
    .option('-p, --port <path>', 'serial device of the agent console (e.g. /dev/ttyACM0)')
    .option('--json', 'print the console answer lines as they are')
    .option('--credential <file>', 'technician credential (hex), issued by the utility')
    .option('--key <file>', 'technician Ed25519 secret key (32-byte hex seed, mode 0600)')
    .option('--baud <n>', 'baud rate (ignored by USB gadget serial)', '115200')
    .option('--timeout <ms>', 'answer timeout', '15000')
    .helpCommand(false)
    .showHelpAfterError()
    .addHelpText('after', [
      '', 'Any other command is sent to the console as one line, e.g.:',
      '  meterctl --port /dev/ttyACM0 status | fingerprint | read | log 20 | help',
      '  meterctl --port /dev/ttyACM0 --credential tech.cred --key tech.key set-account ACC-1000   (signed for you)',
      '  meterctl --port /dev/ttyACM0 --credential tech.cred --key tech.key provision meter.json',
    ].join('\n'));

  const opts = (): GlobalOptions => program.opts<GlobalOptions>();
  const connect = async (): Promise<ConsoleClient> => {
    const o = opts();
    if (!o.port) throw new MeterctlError('NO_PORT', 'give the console with --port PATH (see `meterctl ports`)');
    return ConsoleClient.open(o.port, { baudRate: Number(o.baud), timeoutMs: Number(o.timeout) });
  };
  const guard = (fn: (...a: any[]) => Promise<void>) => async (...a: any[]): Promise<void> => {
    try {
      await fn(...a);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      io.err(`meterctl: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`);
      io.setExitCode(2);
    }
  };
  const show = (ex: Exchange): void => {
    io.out(opts().json ? ex.raw : formatAnswer(ex.answer));
    if (!ex.answer.ok) io.setExitCode(1);
  };

  program.command('ports').description('list serial ports').action(guard(async () => {
    const list = await listPorts();
    if (opts().json) return io.out(JSON.stringify(list));
    if (list.note) io.err(`note: ${list.note}`);
    if (list.ports.length === 0) io.out('no serial ports found');
    for (const p of list.ports) io.out([p.path, p.manufacturer, p.serialNumber].filter(Boolean).join('  '));
  }));

  program.command('provision <file>').description('auth, set-meter-id, set-account, set-endpoints, register from a JSON file')
    .action(guard(async (file: string) => {
      const o = opts();
      if (!o.credential || !o.key) throw new MeterctlError('NO_CREDENTIAL', 'provision needs --credential FILE and --key FILE');
      const plan = loadProvisionFile(file);
      const credential = loadCredential(o.credential);
      const key = loadTechnicianKey(o.key);
      const client = await connect();
      try {
        const result = await provision(client, plan, credential, key, (step, ex) => {
          if (!ex) return;
          const tag = `[${step.index}/${step.total}] ${step.line}`;
          if (o.json) io.out(ex.raw);
          else io.out(ex.answer.ok ? `${tag} … ok` : `${tag} … FAILED`);
        });
        if (result.failed) {
          const f = result.failed;
          io.err(`provisioning stopped at step ${f.index} (${f.name}): ${f.exchange.answer.error?.code} — ${f.exchange.answer.error?.message}`);
          io.err(`  console answered: ${f.exchange.raw}`);
          io.setExitCode(1);
        } else if (!o.json) io.out(`provisioned ${plan.meterId}`);
      } finally {
        await client.close();
      }
    }));

  program.command('console <words...>', { isDefault: true, hidden: true }).description('run one console command')
    .allowUnknownOption(false)
    .action(guard(async (words: string[]) => {
      const o = opts();
      const line = words.join(' ');
      const client = await connect();
      try {
        if (SIGNED_COMMANDS.has(words[0]!) && o.credential && o.key) {
          const auth = await client.request(`auth ${loadCredential(o.credential)}`);
          if (!auth.answer.ok) return show(auth);
          show(await client.signed(line, loadTechnicianKey(o.key)));
        } else show(await client.request(line));
      } finally {
        await client.close();
      }
    }));
  return program;
}
