// The virtual meter: a Modbus RTU server on a serial device (or any duplex byte stream).
import type { Duplex } from 'node:stream';
import { attachServing, openServingTransport } from './transport.js';
import { FaultyLine, driftingClock, lineBitsPerChar, type FaultyLineStats } from './faulty-line.js';
import type { Logger } from 'pino';
import { loadProfile, type MeterProfile } from '@meterseal/hardware';
import { parseSimulatorConfig, type SimulatorConfig, type SimulatorConfigInput } from './config.js';
import { SimulatorError } from './errors.js';
import { MeterModel } from './meter-model.js';
import { RegisterBank } from './register-bank.js';
import { BROADCAST, ExceptionCode, encodeException, encodeResponse, parseRequest, type ModbusRequest } from './rtu/frame.js';
import { RtuRequestFramer } from './rtu/framer.js';

export interface SimulatorStats {
  bytesReceived: number;
  /** CRC-valid frames taken off the line (any unit). */
  frames: number;
  /** Normal responses sent. */
  responses: number;
  /** Exception responses sent. */
  exceptions: number;
  /** Frames for another unit id: not ours, never answered. */
  otherUnit: number;
  /** Broadcast (unit 0) requests: never answered (Modbus over Serial Line V1.02 §2.1). */
  broadcasts: number;
  /** Frame candidates dropped for a bad CRC (Modbus over Serial Line V1.02 §2.5.1.2): never answered. */
  crcErrors: number;
  /** Bytes skipped while resynchronising. */
  discardedBytes: number;
  /** CRC-valid frames that still could not be parsed. */
  malformed: number;
  /** What the fault layer did (answers sent, dropped, corrupted, reboots). */
  line: FaultyLineStats;
}

export interface SimulatorHandle {
  readonly config: SimulatorConfig;
  readonly profile: MeterProfile;
  /** The current model (a reboot replaces it). */
  readonly model: MeterModel;
  stats(): SimulatorStats;
  /** Reboots the meter now: silent for faults.rebootDowntimeMs, registers reset. */
  reboot(): void;
  /** Stops serving; closes the serial port it opened (a provided stream is left to its owner). */
  close(): Promise<void>;
}

export interface SimulatorOptions {
  log: Logger;
  /** Serve on this stream instead of opening config.path (e.g. the in-process link). */
  stream?: Duplex;
  /** UTC epoch ms for the model; defaults to Date.now. */
  clock?: () => number;
  /** Serve this (already validated) profile instead of loading config.profile. */
  profile?: MeterProfile;
}

export async function startSimulator(input: SimulatorConfigInput, options: SimulatorOptions): Promise<SimulatorHandle> {
  const config = parseSimulatorConfig(input);
  const log = options.log.child({ component: 'simulator', unitId: config.unitId });
  let profile: MeterProfile;
  try {
    profile = options.profile ?? loadProfile(config.profile);
  } catch (err) {
    throw new SimulatorError('PROFILE', `simulator: ${(err as Error).message}`, { cause: err });
  }
  const baseClock = options.clock ?? Date.now;
  const makeModel = (initialEnergyWh: number): MeterModel =>
    new MeterModel({ seed: config.seed, loadScale: config.loadScale, initialEnergyWh, clock: driftingClock(baseClock, config.faults.driftPpm) });
  let model = makeModel(config.initialEnergyWh);
  const bank = new RegisterBank(profile, { serialNumber: config.serialNumber ?? 10_000_000 + config.unitId });
  const framer = new RtuRequestFramer();
  const counts = { bytesReceived: 0, frames: 0, responses: 0, exceptions: 0, otherUnit: 0, broadcasts: 0, malformed: 0 };

  const serving = await openServingTransport(config.path, config.baudRate, options.stream);
  const line = new FaultyLine(serving.stream, {
    faults: config.faults,
    pace: config.pace,
    baudRate: config.baudRate,
    bitsPerChar: lineBitsPerChar(config.parity),
    seed: config.seed ^ config.unitId,
  });
  // A reboot loses the registers: the energy count starts again from zero (the fault a ledger must notice).
  line.on('reboot', () => {
    model = makeModel(0);
    log.warn('simulated reboot: registers reset');
  });
  const transport: Duplex = line;
  const owned = options.stream === undefined;

  const send = (bytes: Uint8Array): void => {
    transport.write(Buffer.from(bytes)); // one write per frame: the in-process link relies on it
  };

  const answer = (req: ModbusRequest): Uint8Array => {
    if (req.functionCode === 6 || req.functionCode === 16) {
      // The measurement map is read-only: no writable register at that address.
      return encodeException(req.unitId, req.functionCode, ExceptionCode.IllegalDataAddress);
    }
    let data: Uint8Array | null;
    try {
      data = bank.read(req.functionCode, req.address, req.quantity, model.snapshot());
    } catch (err) {
      log.error({ err }, 'register encoding failed');
      return encodeException(req.unitId, req.functionCode, ExceptionCode.ServerDeviceFailure); // §7 code 04
    }
    if (!data) return encodeException(req.unitId, req.functionCode, ExceptionCode.IllegalDataAddress); // §7 code 02
    return encodeResponse(req, data);
  };

  const handleFrame = (frame: Uint8Array): void => {
    counts.frames++;
    let req: ModbusRequest;
    try {
      req = parseRequest(frame);
    } catch (err) {
      const ex = err instanceof SimulatorError ? err.exception : undefined;
      if (ex && ex.unitId === config.unitId) {
        counts.exceptions++;
        send(encodeException(ex.unitId, ex.functionCode, ex.exceptionCode));
      } else if (ex && ex.unitId === BROADCAST) counts.broadcasts++;
      else if (ex) counts.otherUnit++;
      else counts.malformed++;
      log.debug({ code: (err as SimulatorError).code }, 'request rejected');
      return;
    }
    if (req.unitId === BROADCAST) {
      counts.broadcasts++; // never answered; nothing here is writable, so nothing to apply either
      return;
    }
    if (req.unitId !== config.unitId) {
      counts.otherUnit++;
      return;
    }
    const response = answer(req);
    if ((response[1]! & 0x80) !== 0) counts.exceptions++;
    else counts.responses++;
    send(response);
  };

  const detach = attachServing({ stream: line, release: serving.release }, owned, (chunk) => {
    counts.bytesReceived += chunk.length;
    for (const frame of framer.push(chunk)) handleFrame(frame);
  }, log);
  log.info({ path: config.path ?? '(stream)', profile: profile.id }, 'simulator serving');

  let closed = false;
  return {
    config,
    profile,
    get model() {
      return model;
    },
    stats: () => ({ ...counts, crcErrors: framer.crcErrors, discardedBytes: framer.discardedBytes, line: line.stats() }),
    reboot: () => line.reboot(),
    async close() {
      if (closed) return;
      closed = true;
      await detach();
      line.destroy();
      log.info('simulator closed');
    },
  };
}
