// The virtual DLMS/COSEM meter: an IEC 62056-46 HDLC secondary station in normal response mode (window 1,
// segmentation both ways) on a serial device or stream, carrying the COSEM server of cosem.ts. The link
// layer: SNRM → UA with parameter negotiation (§6.4.4.4.3.2), I frames with N(S)/N(R) (§6.4.3), RR polls for
// the next segment of a long answer, DISC → UA; DM to frames that need a link when there is none.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { loadDlmsProfile, type DlmsProfile } from '@meterseal/hardware';
import { SimulatorError } from '../errors.js';
import { MeterModel } from '../meter-model.js';
import { attachServing, openServingTransport } from '../transport.js';
import { FaultyLine, driftingClock, lineBitsPerChar, type FaultyLineStats } from '../faulty-line.js';
import { parseDlmsSimulatorConfig, type DlmsSimulatorConfig, type DlmsSimulatorConfigInput } from './config.js';
import { CosemServer, type CosemStats } from './cosem.js';
import { CONTROL, FrameReader, PF, encodeFrame, encodeUaParameters, iControl, isI, nr, ns, parseSnrmParameters, rrControl, type Frame } from './hdlc.js';
import { DlmsObjects } from './objects.js';

const LLC_REQUEST = [0xe6, 0xe6, 0x00]; // IEC 62056-46 §5.3 / Green Book §8.4.3
const LLC_RESPONSE = [0xe6, 0xe7, 0x00];
const MAX_REQUEST = 0xffff;

export interface DlmsSimulatorStats extends CosemStats {
  bytesReceived: number;
  frames: number;
  /** Frames dropped for a bad FCS/HCS or format, and bytes skipped outside frames. */
  droppedFrames: number;
  discardedBytes: number;
  otherAddress: number;
  disconnects: number;
  /** Frames whose handling threw (logged); the meter keeps serving. */
  internalErrors: number;
}

export interface DlmsSimulatorHandle {
  readonly config: DlmsSimulatorConfig;
  readonly profile: DlmsProfile;
  /** The current model (a reboot replaces it). */
  readonly model: MeterModel;
  stats(): DlmsSimulatorStats;
  /** What the fault layer did (answers sent, dropped, corrupted, reboots). */
  line(): FaultyLineStats;
  /** Reboots the meter now: silent for faults.rebootDowntimeMs, link and association dropped, registers reset. */
  reboot(): void;
  close(): Promise<void>;
}

export interface DlmsSimulatorOptions {
  log: Logger;
  stream?: Duplex;
  /** UTC epoch ms for the model and the meter clock; defaults to Date.now. */
  clock?: () => number;
}

/** Whether a destination address (1, 2 or 4 bytes, IEC 62056-46 §6.4.2.2) names this meter. */
function addressedToUs(a: Uint8Array, upper: number, lower: number): boolean {
  if (a.length === 1) return a[0]! >> 1 === upper || a[0] === 0xff; // 0x7F all-station
  if (a.length === 2) return a[0]! >> 1 === upper && a[1]! >> 1 === lower;
  return ((a[0]! >> 1) << 7 | (a[1]! >> 1)) === upper && ((a[2]! >> 1) << 7 | (a[3]! >> 1)) === lower;
}

export async function startDlmsSimulator(input: DlmsSimulatorConfigInput, options: DlmsSimulatorOptions): Promise<DlmsSimulatorHandle> {
  const config = parseDlmsSimulatorConfig(input);
  const log = options.log.child({ component: 'dlms-simulator' });
  let profile: DlmsProfile;
  try {
    profile = loadDlmsProfile(config.profile);
  } catch (err) {
    throw new SimulatorError('PROFILE', `simulator: ${(err as Error).message}`, { cause: err });
  }
  const now = driftingClock(options.clock ?? Date.now, config.faults.driftPpm);
  const physical = config.address !== undefined ? Number(config.address) : config.physicalAddress;
  const makeObjects = (initialEnergyWh: number): DlmsObjects =>
    new DlmsObjects(profile, new MeterModel({ seed: config.seed, loadScale: config.loadScale, initialEnergyWh, clock: now }), {
      serialNumber: config.serialNumber, logicalDeviceName: config.logicalDeviceName, clockOffsetMs: config.clockOffsetMs,
      clockStatus: config.clockStatus, loadProfileDays: config.loadProfileDays, now,
    });
  const cosem = new CosemServer(config, makeObjects(config.initialEnergyWh), (n) => new Uint8Array(randomBytes(n)));
  const reader = new FrameReader();
  const counts = { bytesReceived: 0, frames: 0, otherAddress: 0, disconnects: 0, internalErrors: 0 };

  // Link state (one client at a time, as on a point-to-point line).
  let connected = false;
  let vs = 0;
  let vr = 0;
  let maxTx = config.maxInfoLength;
  let maxRx = config.maxInfoLength;
  let request: number[] = [];
  let pending: Uint8Array[] = [];
  let last: Uint8Array | undefined;

  const serving = await openServingTransport(config.path, config.baudRate, options.stream);
  const owned = options.stream === undefined;
  const line = new FaultyLine(serving.stream, {
    faults: config.faults,
    pace: config.pace,
    baudRate: config.baudRate,
    bitsPerChar: lineBitsPerChar(config.parity),
    checksumIndex: (f) => f.length - 3, // the FCS (IEC 62056-46 §6.4.1.7), just before the closing flag
    seed: config.seed,
  });
  const send = (to: Frame, control: number, info: Uint8Array = new Uint8Array(0), segmented = false): Uint8Array => {
    const bytes = encodeFrame({ destination: to.source, source: to.destination, control, info, segmented });
    const noise = config.misbehave.noiseBytes > 0 ? randomBytes(config.misbehave.noiseBytes).map((b) => (b === 0x7e ? 0x00 : b)) : Buffer.alloc(0);
    line.write(Buffer.concat([noise, bytes])); // one write per frame
    return bytes;
  };
  const sendNext = (to: Frame): void => {
    const info = pending.shift()!;
    last = send(to, iControl(vs, vr), info, pending.length > 0); // S bit on all but the last segment (§6.4.1.3)
    vs = (vs + 1) % 8;
  };
  const disconnect = (): void => {
    connected = false;
    request = [];
    pending = [];
    last = undefined;
    cosem.reset();
  };

  const handle = (f: Frame): void => {
    counts.frames++;
    if (!addressedToUs(f.destination, config.logicalAddress, config.physicalAddress)) {
      counts.otherAddress++;
      return;
    }
    const c = f.control;
    const kind = isI(c) ? 'I' : (c & 0x03) === 0x01 ? c & 0x0f : c & ~PF & 0xff; // I, S (RR/RNR carry N(R)), U frames
    if (kind === CONTROL.SNRM) {
      let proposal;
      try {
        proposal = parseSnrmParameters(f.info);
      } catch {
        send(f, CONTROL.FRMR | PF);
        return;
      }
      disconnect();
      maxTx = Math.min(config.maxInfoLength, proposal.maxInfoRx);
      maxRx = Math.min(config.maxInfoLength, proposal.maxInfoTx);
      vs = vr = 0;
      connected = true;
      send(f, CONTROL.UA | PF, encodeUaParameters(maxTx, maxRx));
      return;
    }
    if (kind === CONTROL.DISC) {
      send(f, (connected ? CONTROL.UA : CONTROL.DM) | PF);
      if (connected) counts.disconnects++;
      disconnect();
      return;
    }
    if (!connected) {
      send(f, CONTROL.DM | PF); // disconnected mode
      return;
    }
    if (kind === 'I') {
      if (ns(c) !== vr || f.info.length > maxRx) {
        send(f, rrControl(vr)); // out of sequence (a repeat): ask again for what we expect
        return;
      }
      vr = (vr + 1) % 8;
      request.push(...f.info);
      if (request.length > MAX_REQUEST) {
        request = [];
        send(f, CONTROL.FRMR | PF);
        return;
      }
      if (f.segmented) {
        send(f, rrControl(vr)); // more segments to come
        return;
      }
      const info = Uint8Array.from(request);
      request = [];
      if (LLC_REQUEST.some((b, i) => info[i] !== b)) {
        send(f, rrControl(vr)); // not for the COSEM layer: acknowledge, no answer
        return;
      }
      const answer = Uint8Array.from([...LLC_RESPONSE, ...cosem.handle(info.subarray(3))]);
      pending = [];
      for (let i = 0; i < answer.length; i += maxTx) pending.push(answer.subarray(i, i + maxTx));
      sendNext(f);
      return;
    }
    if (kind === CONTROL.RR) {
      if (pending.length > 0 && nr(c) === vs) sendNext(f);
      else if (last && nr(c) === (vs + 7) % 8) line.write(Buffer.from(last)); // our last frame was lost
      else send(f, rrControl(vr));
    }
  };

  line.on('reboot', () => {
    disconnect(); // a rebooted meter has no link and no association
    cosem.objects = makeObjects(0);
    log.warn('simulated reboot: link dropped, registers reset');
  });

  const detach = attachServing({ stream: line, release: serving.release }, owned, (chunk) => {
    counts.bytesReceived += chunk.length;
    for (const f of reader.push(chunk)) {
      try {
        handle(f);
      } catch (err) {
        counts.internalErrors++; // a request the meter cannot serve must never stop it serving
        log.error({ err }, 'DLMS simulator could not answer a frame');
      }
    }
  }, log);
  log.info({ path: config.path ?? '(stream)', profile: profile.id, auth: config.auth }, 'DLMS/COSEM simulator serving');

  let closed = false;
  return {
    config,
    profile,
    get model() {
      return cosem.objects.model;
    },
    line: () => line.stats(),
    reboot: () => line.reboot(),
    stats: () => ({ ...counts, ...cosem.stats, droppedFrames: reader.dropped, discardedBytes: reader.discardedBytes }),
    async close() {
      if (closed) return;
      closed = true;
      await detach();
      line.destroy();
      log.info('DLMS/COSEM simulator closed');
    },
  };
}
