// `meterseal agent read`: one scan of the meter through the agent's own readers (device createMeterSource),
// printed for a technician: registers with physical values and units, the meter's identity, its clock and the
// drift against this machine's clock. Nothing is signed or sent. Issue 4 item 6-7 (device/README.md).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { AgentConfig, createMeterSource, snapshotOf, type MeterSnapshot, type MeterSource } from '@meterseal/device';
import { listProfiles, loadDlmsProfile, loadDlt645Profile, loadProfile } from '@meterseal/hardware';
import { CliError } from '../errors.js';
import { makeLogger } from '../logger.js';
import { intArg } from './args.js';

type Protocol = 'modbus' | 'dlms' | 'dlt645';

export interface AgentReadFlags {
  protocol: Protocol;
  port: string;
  profile: string;
  address?: string;
  baud?: number;
  timeout?: number;
  dataDir?: string;
  json?: boolean;
}

/** A register as printed: the exact decimal physical value (value × 10^scaler), never a float. */
export interface PrintedRegister {
  obis: string;
  name: string | null;
  value: string;
  unit: string;
  raw: string;
}

export interface PrintedScan {
  protocol: Protocol;
  port: string;
  profile: string;
  meterIdentity: string | null;
  meterClock: { time: string; deviationMin: number | null; status: number | null; driftMs: number } | null;
  agentTime: string;
  retries: number;
  registers: PrintedRegister[];
}

/** value × 10^scaler as an exact decimal string (bigint arithmetic: 12345 × 10^-2 → "123.45"). */
export function physical(value: bigint, scaler: number): string {
  if (scaler >= 0) return (value * 10n ** BigInt(scaler)).toString();
  const neg = value < 0n;
  const digits = (neg ? -value : value).toString().padStart(-scaler + 1, '0');
  const cut = digits.length + scaler;
  return `${neg ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`;
}

function registerNames(protocol: Protocol, profile: string): Map<string, string> {
  try {
    if (protocol === 'modbus') return new Map(loadProfile(profile).registers.map((r) => [r.obis, r.name]));
    if (protocol === 'dlt645') return new Map(loadDlt645Profile(profile).identifiers.map((d) => [d.obis, d.name]));
    if (protocol === 'dlms') return new Map(loadDlmsProfile(profile).registers.map((r) => [r.obis, r.name]));
  } catch {
    // the reader reports an unknown profile with its own error
  }
  return new Map();
}

/** The agent config a one-shot read needs: the same schema (and defaults) as `meterseal agent`. */
export function readConfig(o: AgentReadFlags, dataDir: string): AgentConfig {
  const serial: Record<string, unknown> = { protocol: o.protocol, path: o.port, profile: o.profile };
  if (o.baud !== undefined) serial.baudRate = o.baud;
  if (o.timeout !== undefined) serial.timeoutMs = o.timeout;
  if (o.address !== undefined) {
    if (o.protocol === 'dlt645') serial.address = o.address;
    else if (o.protocol === 'modbus') serial.unitId = intArg('--address', 1, 247)(o.address); // Modbus serial line §2.2
    else serial.dlms = { serverPhysical: intArg('--address', 0, 0x3fff)(o.address) }; // IEC 62056-46 physical address
  }
  const parsed = AgentConfig.safeParse({ dataDir, meterId: 'agent-read', customerAccount: 'agent-read', serial });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = issue.path.at(-1) === 'address' || issue.path.at(-1) === 'unitId' ? '--address' : `serial.${issue.path.slice(1).join('.')}`;
    throw new CliError('BAD_ARGUMENT', `${flag}: ${issue.message}`);
  }
  return parsed.data;
}

/** Turns a reader's typed error into a sentence a technician can act on. */
export function explain(err: Error & { code?: string }, o: AgentReadFlags): CliError {
  const where = o.protocol === 'dlt645' ? `meter ${o.address ?? '?'}` : o.protocol === 'modbus' ? `unit ${o.address ?? 1}` : 'the meter';
  const hints: Record<string, string> = {
    TIMEOUT: `no answer from ${where} on ${o.port}: check the address, baud rate and wiring`,
    ADDRESS_MISMATCH: `another meter answered on ${o.port}: check --address`,
    EXCEPTION: `the meter refused a request (${err.message}): is --profile ${o.profile} the right register map?`,
    PROFILE_NOT_FOUND: `no profile "${o.profile}" (known: ${listProfiles().join(', ')})`,
    PORT: `cannot use ${o.port}: ${err.message}`,
  };
  const code = err.code ?? 'READ_FAILED';
  return new CliError(code, `${code}: ${hints[code] ?? err.message}`, { cause: err });
}

export function printable(o: AgentReadFlags, snap: MeterSnapshot, agentTimeMs: number): PrintedScan {
  const names = registerNames(o.protocol, o.profile);
  const c = snap.meterClock;
  return {
    protocol: o.protocol,
    port: o.port,
    profile: o.profile,
    meterIdentity: snap.meterIdentity,
    meterClock: c ? { time: new Date(Number(c.timeMs)).toISOString(), deviationMin: c.deviationMin, status: c.status, driftMs: Number(c.timeMs) - agentTimeMs } : null,
    agentTime: new Date(agentTimeMs).toISOString(),
    retries: snap.retries,
    registers: snap.samples.map((s) => ({
      obis: s.obis, name: names.get(s.obis) ?? null, value: physical(s.value, s.scaler), unit: s.unit, raw: Buffer.from(s.raw).toString('hex'),
    })),
  };
}

function text(p: PrintedScan): string {
  const lines = [
    `meter identity  ${p.meterIdentity ?? '(the meter reports none)'}`,
    p.meterClock
      ? `meter clock     ${p.meterClock.time}  drift ${(p.meterClock.driftMs / 1000).toFixed(1)} s vs this machine (${p.agentTime})` +
        `${p.meterClock.deviationMin !== null ? `  deviation ${p.meterClock.deviationMin} min` : ''}${p.meterClock.status !== null ? `  status 0x${p.meterClock.status.toString(16).padStart(2, '0')}` : ''}`
      : `meter clock     (none)`,
    `retries         ${p.retries}`,
    '',
  ];
  const w = Math.max(...p.registers.map((r) => (r.name ?? '').length), 4);
  for (const r of p.registers) lines.push(`${r.obis.padEnd(16)} ${(r.name ?? '').padEnd(w)} ${r.value.padStart(14)} ${r.unit.padEnd(4)} raw ${r.raw}`);
  return `${lines.join('\n')}\n`;
}

/** Reads once; the caller prints. Closes the port whatever happens. */
export async function readOnce(o: AgentReadFlags): Promise<PrintedScan> {
  if (!existsSync(o.port)) throw new CliError('PORT_MISSING', `PORT_MISSING: serial port ${o.port} does not exist (is the meter's adapter plugged in?)`);
  const tmp = o.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'meterseal-agent-read-')) : null;
  const config = readConfig(o, o.dataDir ?? tmp!);
  const log = makeLogger(process.env.LOG_LEVEL ?? 'warn', 'meterseal-agent-read');
  let source: MeterSource | null = null;
  try {
    source = createMeterSource(config, {}, log);
    await source.open();
    const snap = await snapshotOf(source);
    return printable(o, snap, Date.now());
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw explain(err as Error & { code?: string }, o);
  } finally {
    await source?.close().catch(() => undefined);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

function choice(value: string): Protocol {
  if (value !== 'modbus' && value !== 'dlms' && value !== 'dlt645') throw new InvalidArgumentError('--protocol must be one of modbus, dlms, dlt645');
  return value;
}

export function registerAgentRead(agent: Command): void {
  agent
    .command('read')
    .description('read the meter once through the agent\'s readers and print registers, meter identity and meter clock (nothing is signed or sent)')
    .requiredOption('--protocol <name>', 'modbus | dlms | dlt645', choice)
    .requiredOption('--port <path>', 'serial device of the meter (e.g. /dev/ttyUSB0)')
    .requiredOption('--profile <name>', 'meter profile from hardware/profiles')
    .option('--address <a>', 'Modbus unit id (default 1), the 12-digit DL/T 645 address (required), or the DLMS HDLC physical address')
    .option('--baud <n>', 'baud rate (default: the protocol\'s)', intArg('--baud', 300, 4_000_000))
    .option('--timeout <ms>', 'answer timeout per request', intArg('--timeout', 1, 600_000))
    .option('--data-dir <dir>', 'the agent\'s data dir (DLMS HLS keeps its invocation counter there); default: a temporary dir')
    .option('--json', 'print JSON instead of a table')
    .action(async (o: AgentReadFlags) => {
      const scan = await readOnce(o);
      process.stdout.write(o.json ? `${JSON.stringify(scan)}\n` : text(scan));
    });
}
