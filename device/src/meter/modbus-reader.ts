// Reads a meter's registers over Modbus RTU: few requests (readBlocks), raw bytes kept, values decoded.
// Requests go through a ModbusBus, so several readers (unit ids) on one RS-485 bus never interleave.
import type { Logger } from 'pino';
import {
  HardwareError,
  decodeRegister,
  readBlocks,
  splitBlock,
  type MeterProfile,
  type ReadBlock,
  type RegisterDef,
  type TargetUnit,
} from '@meterseal/hardware';
import { ModbusBus, encodeReadRequest, parseReadResponse } from './bus.js';
import { MeterReadError } from './errors.js';
import type { ModbusPort } from './serial-port.js';
import type { MeterSnapshot } from './source.js';

export interface RegisterSample {
  name: string;
  obis: string;
  /** value in `unit` = value × 10^scaler */
  value: bigint;
  scaler: number;
  unit: TargetUnit;
  /** The register's bytes exactly as they came off the wire. */
  raw: Uint8Array;
}

export interface ModbusMeterReaderOptions {
  /** Serial device, e.g. /dev/ttyUSB0; readers given the same path share one bus. One of path, port, bus. */
  path?: string;
  /** A ready custom port (e.g. the simulator's in-process link). */
  port?: ModbusPort;
  /** A bus shared with other readers. */
  bus?: ModbusBus;
  profile: MeterProfile;
  /** Defaults to the profile's serial settings. */
  baudRate?: number;
  dataBits?: 7 | 8;
  parity?: 'none' | 'even' | 'odd';
  stopBits?: 1 | 2;
  /** Defaults to the profile's defaultUnitId. */
  unitId?: number;
  /** Per request. */
  timeoutMs?: number;
  /** Extra attempts after a timeout, CRC error, garbled answer or port failure (not after an exception). */
  retries?: number;
  /** First pause before a retry; doubles each time. */
  backoffMs?: number;
  log?: Logger;
}

const RETRYABLE = new Set(['TIMEOUT', 'CRC', 'PROTOCOL', 'PORT']);
/** Quantities that identify the meter rather than measure: read, never filed as a sample. */
const IDENTITY_QUANTITY = 'serial_number';

const isIdentity = (def: RegisterDef): boolean => (def.quantity as string) === IDENTITY_QUANTITY;

/** The serial number as text: an unsigned integer for integer registers (word order honoured), else ASCII or hex. */
export function serialNumberText(def: Pick<RegisterDef, 'type' | 'wordOrder'>, raw: Uint8Array): string {
  if ((def.type === 'uint32' || def.type === 'int32') && raw.length === 4) {
    const be = def.wordOrder === 'little' ? Uint8Array.of(raw[2]!, raw[3]!, raw[0]!, raw[1]!) : raw;
    return String(new DataView(be.buffer, be.byteOffset, 4).getUint32(0, false));
  }
  if ((def.type === 'uint16' || def.type === 'int16') && raw.length === 2) return String((raw[0]! << 8) | raw[1]!);
  const text = Buffer.from(raw).toString('latin1').replace(/\0+$/, '').trim();
  return /^[\x20-\x7e]+$/.test(text) ? text : Buffer.from(raw).toString('hex');
}

export class ModbusMeterReader {
  readonly profile: MeterProfile;
  readonly unitId: number;
  readonly bus: ModbusBus;
  private readonly blocks: ReadBlock[];
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly log: Logger | undefined;
  private opened = false;
  /** True when the last read() needed at least one retry (protocol StatusFlag.ReadRetried). */
  lastReadRetried = false;
  /** How many retries the last read() needed. */
  lastReadRetries = 0;
  /** The serial-number register's value from the last read, or null when the profile has none. */
  lastSerialNumber: string | null = null;

  constructor(options: ModbusMeterReaderOptions) {
    const given = [options.path, options.port, options.bus].filter((x) => x !== undefined).length;
    if (given !== 1) throw new MeterReadError('PORT', 'ModbusMeterReader needs exactly one of path, port and bus');
    const { profile } = options;
    this.profile = profile;
    // Modbus over Serial Line V1.02 §2.2: a request to address 0 is a broadcast and is never answered.
    this.unitId = options.unitId ?? profile.defaultUnitId;
    if (!Number.isInteger(this.unitId) || this.unitId < 1 || this.unitId > 247) {
      throw new MeterReadError('PORT', `unit id ${this.unitId} is not 1..247`);
    }
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.retries = Math.max(0, Math.floor(options.retries ?? 2));
    this.backoffMs = Math.max(0, options.backoffMs ?? 100);
    this.log = options.log;
    this.blocks = readBlocks(profile);
    const line = {
      baudRate: options.baudRate ?? profile.serial.baudRate,
      dataBits: options.dataBits ?? profile.serial.dataBits,
      parity: options.parity ?? profile.serial.parity,
      stopBits: options.stopBits ?? profile.serial.stopBits,
    };
    const log = options.log ? { log: options.log } : {};
    if (options.bus) this.bus = options.bus;
    else if (options.port) this.bus = new ModbusBus({ port: options.port, ...log });
    else this.bus = ModbusBus.forPath(options.path!, line, options.log);
  }

  get isOpen(): boolean {
    return this.opened && this.bus.isOpen;
  }

  async open(): Promise<void> {
    if (this.opened) return;
    await this.bus.open();
    this.opened = true;
  }

  close(): Promise<void> {
    if (!this.opened) return Promise.resolve();
    this.opened = false;
    return this.bus.close();
  }

  /** Reads every measuring register of the profile, in profile order. */
  async read(): Promise<RegisterSample[]> {
    if (!this.opened) throw new MeterReadError('PORT', 'meter port is not open');
    this.lastReadRetried = false;
    this.lastReadRetries = 0;
    const byName = new Map<string, RegisterSample>();
    let serial: string | null = null;
    for (const block of this.blocks) {
      const data = await this.readBlock(block);
      for (const { def, raw } of splitBlock(block, data)) {
        if (isIdentity(def)) {
          serial = serialNumberText(def, raw);
          continue;
        }
        let decoded;
        try {
          decoded = decodeRegister(def, raw);
        } catch (err) {
          const why = err instanceof HardwareError ? err.message : String(err);
          throw new MeterReadError('DECODE', `register ${def.name}: ${why}`, { cause: err });
        }
        byName.set(def.name, { name: def.name, obis: def.obis, ...decoded, raw });
      }
    }
    this.lastSerialNumber = serial;
    return this.profile.registers.filter((r) => !isIdentity(r)).map((r) => byName.get(r.name)!); // profile order
  }

  /** One scan with the meter's identity (serial-number register, if the model has one); these models have no clock. */
  async snapshot(): Promise<MeterSnapshot> {
    const samples = await this.read();
    return { samples, meterIdentity: this.lastSerialNumber, meterClock: null, retries: this.lastReadRetries };
  }

  private async readBlock(block: ReadBlock): Promise<Uint8Array> {
    const request = encodeReadRequest(this.unitId, block.functionCode, block.address, block.quantity);
    const where = `unit ${this.unitId} FC ${block.functionCode} @0x${block.address.toString(16)}×${block.quantity}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const frame = await this.bus.transact(request, this.timeoutMs);
        return parseReadResponse(frame, this.unitId, block.functionCode, block.quantity);
      } catch (err) {
        const e = err instanceof MeterReadError ? err : new MeterReadError('PORT', String(err), { cause: err });
        const notOpen = e.code === 'PORT' && !this.opened;
        if (!RETRYABLE.has(e.code) || notOpen || attempt >= this.retries) {
          const message = `${where}: ${e.message}${attempt ? ` (after ${attempt + 1} attempts)` : ''}`;
          throw new MeterReadError(e.code, message, e.exceptionCode === undefined ? { cause: e } : { cause: e, exceptionCode: e.exceptionCode });
        }
        this.lastReadRetried = true;
        this.lastReadRetries++;
        this.log?.debug({ code: e.code, attempt, where }, 'meter read retry');
        await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** attempt)); // exponential backoff
      }
    }
  }
}
