// `meterseal sim`: one virtual meter on a serial device, or a fleet (several on one multi-drop bus, or each on
// its own pty pair), with injectable faults. Answers are paced at the baud rate unless --no-pace.
import { InvalidArgumentError, type Command } from 'commander';
import type { Logger } from 'pino';
import {
  createPtyPair,
  dlt645SimulatorConfigSchema,
  simulatorConfigSchema,
  startDlt645Simulator,
  startFleet,
  startSimulator,
  type FaultsInput,
  type PtyPair,
} from '@meterseal/simulator';
import * as simulatorModule from '@meterseal/simulator';
import { loadConfig } from '../config-file.js';
import { CliError } from '../errors.js';
import { intArg } from './args.js';
import { runService } from './run-service.js';
import { loadSimState, saveSimState } from './sim-state.js';

export interface SimFlags {
  config?: string;
  dataDir?: string;
  protocol: 'modbus' | 'dlms' | 'dlt645';
  port?: string;
  pty?: boolean;
  unitId?: number;
  address?: string;
  meters?: number;
  profile?: string;
  seed?: number;
  energy?: number;
  baud?: number;
  parity?: 'none' | 'even' | 'odd';
  pace: boolean;
  dropRate?: number;
  corruptRate?: number;
  replyDelay?: number;
  rebootEvery?: number;
  rebootDowntime?: number;
  driftPpm?: number;
}

function rateArg(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be a number between ${min} and ${max}, got "${value.slice(0, 40)}"`);
    }
    return n;
  };
}

function choiceArg<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${flag} must be one of ${choices.join(', ')}`);
    return value as T;
  };
}

/** The fault flags as the simulator's `faults` config (undefined fields keep the config file's or defaults). */
export function faultsFromFlags(o: SimFlags): FaultsInput {
  return {
    ...(o.dropRate !== undefined ? { dropRate: o.dropRate } : {}),
    ...(o.corruptRate !== undefined ? { corruptRate: o.corruptRate } : {}),
    ...(o.replyDelay !== undefined ? { replyDelayMs: o.replyDelay } : {}),
    ...(o.rebootEvery !== undefined ? { rebootEveryRequests: o.rebootEvery } : {}),
    ...(o.rebootDowntime !== undefined ? { rebootDowntimeMs: o.rebootDowntime } : {}),
    ...(o.driftPpm !== undefined ? { driftPpm: o.driftPpm } : {}),
  };
}

type Closable = { close(): Promise<void> };
type Rebootable = Closable & { reboot(): void };

/** SIGUSR2 reboots the meter(s), as pulling their power would. */
function onRebootSignal(target: { reboot(): void }, log: Logger): () => void {
  const handler = (): void => {
    log.warn('SIGUSR2: rebooting');
    target.reboot();
  };
  process.on('SIGUSR2', handler);
  return () => process.off('SIGUSR2', handler);
}

async function startOne(o: SimFlags, path: string, log: Logger): Promise<Rebootable & { energyMilliWh(): bigint }> {
  const savedEnergy = (o.dataDir ? loadSimState(o.dataDir) : undefined) ?? o.energy;
  const common = {
    path, profile: o.profile, seed: o.seed, baudRate: o.baud, parity: o.parity, pace: o.pace, faults: faultsFromFlags(o), initialEnergyWh: savedEnergy,
  };
  if (o.protocol === 'modbus') {
    const unitId = o.unitId ?? (o.address !== undefined ? intArg('--address', 1, 247)(o.address) : undefined);
    const h = await startSimulator(loadConfig(simulatorConfigSchema, o.config, { ...common, unitId }), { log });
    return { close: () => h.close(), reboot: () => h.reboot(), energyMilliWh: () => h.model.energyImportMilliWh() };
  }
  if (o.protocol === 'dlt645') {
    const h = await startDlt645Simulator(loadConfig(dlt645SimulatorConfigSchema, o.config, { ...common, address: o.address }), { log });
    return { close: () => h.close(), reboot: () => h.reboot(), energyMilliWh: () => h.model.energyImportMilliWh() };
  }
  // DLMS/COSEM: served by simulator/src/dlms (another work item); found at run time so this command builds without it.
  const start = (simulatorModule as Record<string, unknown>).startDlmsSimulator as
    | ((config: Record<string, unknown>, options: { log: Logger }) => Promise<Closable & Partial<Rebootable> & { model?: { energyImportMilliWh(): bigint } }>)
    | undefined;
  if (!start) throw new CliError('SIM_PROTOCOL_UNAVAILABLE', 'the DLMS/COSEM simulator is not part of this build (simulator/src/dlms)');
  const h = await start(loadConfig(simulatorModule.dlmsSimulatorConfigSchema, o.config, { ...common, address: o.address }), { log }); // --config: auth, password, keys
  return {
    close: () => h.close(),
    reboot: () => h.reboot?.(),
    energyMilliWh: () => h.model?.energyImportMilliWh() ?? 0n,
  };
}

export async function runSim(o: SimFlags, log: Logger, out: (line: string) => void): Promise<Closable> {
  if (o.meters !== undefined && o.meters > 1) {
    if (o.protocol === 'dlms') throw new CliError('SIM_FLEET_PROTOCOL', '--meters supports modbus and dlt645');
    const fleet = await startFleet(
      {
        protocol: o.protocol, meters: o.meters, ...(o.port !== undefined ? { path: o.port } : {}), ...(o.profile ? { profile: o.profile } : {}),
        ...(o.baud !== undefined ? { baudRate: o.baud } : {}), ...(o.parity ? { parity: o.parity } : {}), pace: o.pace,
        faults: faultsFromFlags(o), ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.energy !== undefined ? { initialEnergyWh: o.energy } : {}),
      },
      { log },
    );
    for (const m of fleet.meters) {
      const id = m.unitId !== undefined ? `unit ${m.unitId}` : `address ${m.address}`;
      out(`meter ${m.index} (${id}): point the agent at ${m.agentPath}`);
    }
    const off = onRebootSignal(fleet, log);
    return { close: async () => (off(), await fleet.close()) };
  }
  let pair: PtyPair | null = null;
  let path = o.port;
  if (path === undefined || o.pty) {
    pair = await createPtyPair();
    path = pair.a;
  }
  try {
    const meter = await startOne(o, path, log);
    if (pair) out(`meter serving on ${pair.a}; point the agent at ${pair.b}`);
    const save = (): void => {
      if (o.dataDir) saveSimState(o.dataDir, meter.energyMilliWh());
    };
    const timer = setInterval(save, 10_000);
    const off = onRebootSignal(meter, log);
    return {
      close: async () => {
        off();
        clearInterval(timer);
        save();
        await meter.close();
        await pair?.close();
      },
    };
  } catch (err) {
    await pair?.close();
    throw err;
  }
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('run simulated meters (Modbus RTU, DL/T 645, DLMS) on a serial device or on new pty pairs, with injectable faults')
    .option('--config <file>', 'JSON simulator config (validated; flags override it)')
    .option('--data-dir <dir>', 'keeps the energy register (sim-state.json) across restarts, as a real meter does')
    .option('--protocol <name>', 'modbus | dlms | dlt645', choiceArg('--protocol', ['modbus', 'dlms', 'dlt645'] as const), 'modbus')
    .option('--port <path>', 'serial device to serve on (e.g. one end of a socat pty pair); omitted: a new pty pair per meter')
    .option('--pty', 'create a socat pty pair and print the path the agent should open (the default without --port)')
    .option('--unit-id <n>', 'Modbus unit id', intArg('--unit-id', 1, 247))
    .option('--address <a>', 'the meter address: Modbus unit id, or the 12-digit DL/T 645 address')
    .option('--meters <n>', 'a fleet of N meters (unit ids / addresses 1..N on --port, else one pty pair each)', intArg('--meters', 1, 247))
    .option('--profile <id>', 'meter profile from hardware/profiles')
    .option('--seed <n>', 'seed of the load model and of the fault dice', intArg('--seed', 0, 0xffffffff))
    .option('--energy <wh>', 'the import energy register at start, Wh (a --data-dir state file wins)', rateArg('--energy', 0, 1e12))
    .option('--baud <n>', 'baud rate of the modelled line (pacing)', intArg('--baud', 300, 4_000_000))
    .option('--parity <p>', 'parity of the modelled line: none (10 bits/char) | even | odd (11 bits/char)', choiceArg('--parity', ['none', 'even', 'odd'] as const))
    .option('--no-pace', 'answer at once instead of at the baud rate (a pty delivers instantly)')
    .option('--drop-rate <r>', 'share of answers never sent, 0..1', rateArg('--drop-rate', 0, 1))
    .option('--corrupt-rate <r>', 'share of answers with a broken CRC/FCS/checksum, 0..1', rateArg('--corrupt-rate', 0, 1))
    .option('--reply-delay <ms>', 'extra delay before each answer', intArg('--reply-delay', 0, 60_000))
    .option('--reboot-every <n>', 'reboot after every N answered requests (registers reset); SIGUSR2 reboots at once', intArg('--reboot-every', 0, 1e9))
    .option('--reboot-downtime <ms>', 'how long a reboot stays silent', intArg('--reboot-downtime', 0, 600_000))
    .option('--drift-ppm <ppm>', 'the meter clock runs fast (+) or slow (-) by this many ppm', rateArg('--drift-ppm', -1e6, 1e6))
    .action(async (o: SimFlags) => {
      await runService('sim', (log) => runSim(o, log, (line) => process.stdout.write(`${line}\n`)));
    });
}
