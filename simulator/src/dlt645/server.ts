// The virtual DL/T 645-2007 meter: one address on a serial device (or any duplex byte stream), answering
// read data (§7.1) and read address (§7.4) from the shared MeterModel.
import type { Duplex } from 'node:stream';
import { attachServing, openServingTransport } from '../transport.js';
import { FaultyLine, driftingClock, lineBitsPerChar, type FaultyLineStats } from '../faulty-line.js';
import type { Logger } from 'pino';
import { loadDlt645Profile, type Dlt645IdentifierDef, type Dlt645Profile } from '@meterseal/hardware';
import { SimulatorError } from '../errors.js';
import { MeterModel } from '../meter-model.js';
import { dlt645AddressToWire, dlt645Bcd, dlt645DiFromData, dlt645DiToData, encodeDlt645Frame, type Dlt645WireFrame } from './codec.js';
import { parseDlt645SimulatorConfig, type Dlt645SimulatorConfig, type Dlt645SimulatorConfigInput } from './config.js';
import { Dlt645RequestFramer } from './framer.js';
import { TariffRegisters, checkProfileUnits, registerValue } from './registers.js';

const READ_DATA = 0x11; // §7.1
const READ_ADDRESS = 0x13; // §7.4
const RESPONSE = 0x80; // §5.2.3 D7: slave → master
const ABNORMAL = 0x40; // §5.2.3 D6: abnormal answer, data = error word
export const DLT645_ERR_OTHER = 0x01; // error word bit 0: other error
export const DLT645_ERR_NO_DATA = 0x02; // error word bit 1: no data requested

export interface Dlt645SimulatorStats {
  bytesReceived: number;
  /** Checksum-valid frames taken off the line (any address). */
  frames: number;
  /** Normal answers sent (91H, 93H). */
  responses: number;
  /** Abnormal answers sent (D1H …) — e.g. error 02H for an unknown data identifier. */
  errors: number;
  /** Frames for another address: never answered. */
  otherAddress: number;
  /** Frames to the broadcast address 99..99 (§5.2.2): never answered. */
  broadcasts: number;
  /** Candidates dropped for a bad checksum (§5.2.6): never answered. */
  checksumErrors: number;
  /** Bytes skipped while resynchronising (not counting FEH wake-up bytes). */
  discardedBytes: number;
  /** What the fault layer did (answers sent, dropped, corrupted, reboots). */
  line: FaultyLineStats;
}

export interface Dlt645SimulatorHandle {
  readonly config: Dlt645SimulatorConfig;
  readonly profile: Dlt645Profile;
  /** The current model (a reboot replaces it). */
  readonly model: MeterModel;
  /** The four tariff registers (forward active energy by time-of-use tariff). */
  readonly tariffs: TariffRegisters;
  stats(): Dlt645SimulatorStats;
  /** Reboots the meter now: silent for faults.rebootDowntimeMs, registers reset. */
  reboot(): void;
  /** Stops serving; closes the serial port it opened (a provided stream is left to its owner). */
  close(): Promise<void>;
}

export interface Dlt645SimulatorOptions {
  log: Logger;
  /** Serve on this stream instead of opening config.path (e.g. the in-process link's serverStream). */
  stream?: Duplex;
  /** UTC epoch ms for the model; defaults to Date.now. */
  clock?: () => number;
}

export async function startDlt645Simulator(input: Dlt645SimulatorConfigInput, options: Dlt645SimulatorOptions): Promise<Dlt645SimulatorHandle> {
  const config = parseDlt645SimulatorConfig(input);
  const log = options.log.child({ component: 'dlt645-simulator', address: config.address });
  let profile: Dlt645Profile;
  try {
    profile = loadDlt645Profile(config.profile);
  } catch (err) {
    throw new SimulatorError('PROFILE', `simulator: ${(err as Error).message}`, { cause: err });
  }
  checkProfileUnits(profile);
  const byDi = new Map<string, Dlt645IdentifierDef>(profile.identifiers.map((d) => [d.di, d]));
  const baseClock = options.clock ?? Date.now;
  const makeModel = (initialEnergyWh: number): MeterModel =>
    new MeterModel({ seed: config.seed, loadScale: config.loadScale, initialEnergyWh, clock: driftingClock(baseClock, config.faults.driftPpm) });
  let model = makeModel(config.initialEnergyWh);
  let tariffs = new TariffRegisters(model.energyImportMilliWh());
  const own = dlt645AddressToWire(config.address);
  const framer = new Dlt645RequestFramer();
  const counts = { bytesReceived: 0, frames: 0, responses: 0, errors: 0, otherAddress: 0, broadcasts: 0 };

  const serving = await openServingTransport(config.path, config.baudRate, options.stream);
  const line = new FaultyLine(serving.stream, {
    faults: config.faults,
    pace: config.pace,
    baudRate: config.baudRate,
    bitsPerChar: lineBitsPerChar(config.parity),
    checksumIndex: (f) => f.length - 2, // §5.2.6: CS, just before the 16H end byte
    seed: config.seed,
  });
  line.on('reboot', () => {
    model = makeModel(0);
    tariffs = new TariffRegisters(0n);
    log.warn('simulated reboot: registers reset');
  });
  const transport: Duplex = line;
  const owned = options.stream === undefined;

  let clockOffsetMs = 0; // what broadcast time synchronisation moved the meter's clock by
  const send = (control: number, data: Uint8Array): void => {
    if ((control & ABNORMAL) !== 0) counts.errors++;
    else counts.responses++;
    // §5.2.2: the answer carries the meter's real address, whatever wildcard it was asked with.
    transport.write(Buffer.from(encodeDlt645Frame({ addressWire: own, control, data }, config.preamble))); // one write per frame
  };

  const readData = (req: Dlt645WireFrame): void => {
    const func = req.control & 0x1f;
    const di = req.data.length === 4 ? dlt645DiFromData(req.data) : '';
    const clock = config.hasClock ? clockValue(di, model.snapshot().timeMs + clockOffsetMs, config.utcOffsetMin) : undefined;
    if (clock) {
      send(RESPONSE | func, Uint8Array.from([...dlt645DiToData(di), ...dlt645Bcd(clock.value, clock.length, false)]));
      return;
    }
    const def = byDi.get(di);
    const snapshot = model.snapshot();
    tariffs.update(snapshot);
    const value = def ? registerValue(def, snapshot, tariffs) : undefined;
    if (!def || value === undefined) {
      send(RESPONSE | ABNORMAL | func, Uint8Array.of(DLT645_ERR_NO_DATA)); // §7.1 abnormal answer D1H, ERR 02H
      return;
    }
    const bcd = dlt645Bcd(value, def.length, def.signed);
    send(RESPONSE | func, Uint8Array.from([...dlt645DiToData(def.di), ...bcd])); // §7.1 normal answer 91H: DI + value
  };

  const handle = (req: Dlt645WireFrame): void => {
    counts.frames++;
    const a = req.addressWire;
    if (a.every((b) => b === 0x99)) {
      counts.broadcasts++; // broadcast commands (time, freeze) are never answered
      if (req.control === BROADCAST_TIME && config.hasClock) {
        const utc = broadcastTimeUtc(req.data, config.utcOffsetMin);
        if (utc !== undefined) clockOffsetMs = utc - model.snapshot().timeMs; // the meter's clock steps; energy does not
      }
      return;
    }
    if (!a.every((b, i) => b === own[i] || b === 0xaa)) {
      counts.otherAddress++;
      return;
    }
    if ((req.control & RESPONSE) !== 0) return; // another slave's answer (or our own echo): not a request
    if (req.control === READ_ADDRESS) send(RESPONSE | READ_ADDRESS, own); // §7.4: 93H, data = the address, A0 first
    else if (req.control === READ_DATA) readData(req);
    else send(RESPONSE | ABNORMAL | (req.control & 0x1f), Uint8Array.of(DLT645_ERR_OTHER)); // read-only meter
  };

  const detach = attachServing({ stream: line, release: serving.release }, owned, (chunk) => {
    counts.bytesReceived += chunk.length;
    for (const frame of framer.push(chunk)) handle(frame);
  }, log);
  log.info({ path: config.path ?? '(stream)', profile: profile.id }, 'DL/T 645 simulator serving');

  let closed = false;
  return {
    config,
    profile,
    get model() {
      return model;
    },
    get tariffs() {
      return tariffs;
    },
    stats: () => ({ ...counts, checksumErrors: framer.checksumErrors, discardedBytes: framer.discardedBytes, line: line.stats() }),
    reboot: () => line.reboot(),
    async close() {
      if (closed) return;
      closed = true;
      await detach();
      line.destroy();
      log.info('DL/T 645 simulator closed');
    },
  };
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * DL/T 645-2007 Appendix A, table A.5: 04000101 date and weekday YYMMDDWW (WW 0 = Sunday), 04000102 time
 * hhmmss; both in the meter's local time, as BCD digits (sent low byte first). Undefined for other DIs.
 */
export function clockValue(di: string, utcMs: number, utcOffsetMin: number): { value: bigint; length: number } | undefined {
  if (di !== '04000101' && di !== '04000102') return undefined;
  const d = new Date(utcMs + utcOffsetMin * 60_000); // local wall time, read with the UTC getters
  if (di === '04000101') {
    return { value: BigInt(`${pad2(d.getUTCFullYear() % 100)}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}${pad2(d.getUTCDay())}`), length: 4 };
  }
  return { value: BigInt(`${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`), length: 3 };
}

const BROADCAST_TIME = 0x08; // DL/T 645-2007 broadcast time synchronisation: C = 08H, L = 06H, never answered

/** The UTC time a broadcast time synchronisation sets (data ss mm hh DD MM YY, BCD, seconds first); undefined if malformed. */
export function broadcastTimeUtc(data: Uint8Array, utcOffsetMin: number): number | undefined {
  if (data.length !== 6) return undefined;
  const v: number[] = [];
  for (const b of data) {
    if ((b >> 4) > 9 || (b & 15) > 9) return undefined;
    v.push((b >> 4) * 10 + (b & 15));
  }
  const [ss, mi, hh, dd, mo, yy] = v as [number, number, number, number, number, number];
  const local = Date.UTC(2000 + yy, mo - 1, dd, hh, mi, ss);
  const back = new Date(local);
  if (ss > 59 || mi > 59 || hh > 23 || back.getUTCDate() !== dd || back.getUTCMonth() !== mo - 1) return undefined;
  return local - utcOffsetMin * 60_000;
}
