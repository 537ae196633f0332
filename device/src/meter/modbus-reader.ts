// Reads a meter's registers over Modbus RTU: few requests (readBlocks), raw bytes kept, values decoded.
import modbusSerial from 'modbus-serial';
import type { Logger } from 'pino';
import {
  HardwareError,
  decodeRegister,
  readBlocks,
  splitBlock,
  type MeterProfile,
  type ReadBlock,
  type TargetUnit,
} from '@meterseal/hardware';
import { MeterReadError, classifyModbusError } from './errors.js';
import { SerialRtuPort, type ModbusPort } from './serial-port.js';

type ModbusClient = InstanceType<typeof modbusSerial.default>;

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
  /** Serial device, e.g. /dev/ttyUSB0. Exactly one of path and port. */
  path?: string;
  /** A ready modbus-serial custom port (e.g. the simulator's in-process link). */
  port?: ModbusPort;
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
  /** Extra attempts after a timeout, CRC error or garbled answer (not after an exception). */
  retries?: number;
  /** First pause before a retry; doubles each time. */
  backoffMs?: number;
  log?: Logger;
}

const RETRYABLE = new Set(['TIMEOUT', 'CRC', 'PROTOCOL']);

export class ModbusMeterReader {
  readonly profile: MeterProfile;
  readonly unitId: number;
  private readonly port: ModbusPort;
  private readonly client: ModbusClient;
  private readonly blocks: ReadBlock[];
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly log: Logger | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** True when the last read() needed at least one retry (protocol StatusFlag.ReadRetried). */
  lastReadRetried = false;

  constructor(options: ModbusMeterReaderOptions) {
    if ((options.path === undefined) === (options.port === undefined)) {
      throw new MeterReadError('PORT', 'ModbusMeterReader needs exactly one of path and port');
    }
    const { profile } = options;
    this.profile = profile;
    // Modbus over Serial Line V1.02 §2.2: a request to address 0 is a broadcast and is never answered.
    this.unitId = options.unitId ?? profile.defaultUnitId;
    if (!Number.isInteger(this.unitId) || this.unitId < 1 || this.unitId > 247) {
      throw new MeterReadError('PORT', `unit id ${this.unitId} is not 1..247`);
    }
    this.retries = Math.max(0, Math.floor(options.retries ?? 2));
    this.backoffMs = Math.max(0, options.backoffMs ?? 100);
    this.log = options.log;
    this.blocks = readBlocks(profile);
    this.port =
      options.port ??
      new SerialRtuPort(options.path!, {
        baudRate: options.baudRate ?? profile.serial.baudRate,
        dataBits: options.dataBits ?? profile.serial.dataBits,
        parity: options.parity ?? profile.serial.parity,
        stopBits: options.stopBits ?? profile.serial.stopBits,
      });
    this.client = new modbusSerial.default(this.port);
    this.client.setID(this.unitId);
    this.client.setTimeout(options.timeoutMs ?? 1000);
    // ModbusRTU re-emits port errors; without a listener an EventEmitter 'error' would crash the agent.
    this.client.on('error', (err: unknown) => this.log?.warn({ err }, 'meter port error'));
  }

  get isOpen(): boolean {
    return this.client.isOpen;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.open((err: Error | null) => {
        if (err) reject(new MeterReadError('PORT', `cannot open meter port: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  /** Reads every register of the profile; calls are serialised (RTU is half duplex). */
  read(): Promise<RegisterSample[]> {
    const run = this.queue.then(() => this.readAll());
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.client.isOpen) {
        resolve();
        return;
      }
      this.client.close(() => resolve());
    });
  }

  private async readAll(): Promise<RegisterSample[]> {
    if (!this.client.isOpen) throw new MeterReadError('PORT', 'meter port is not open');
    this.lastReadRetried = false;
    const byName = new Map<string, RegisterSample>();
    for (const block of this.blocks) {
      const data = await this.readBlock(block);
      for (const { def, raw } of splitBlock(block, data)) {
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
    return this.profile.registers.map((r) => byName.get(r.name)!); // profile order
  }

  private async readBlock(block: ReadBlock): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res =
          block.functionCode === 3
            ? await this.client.readHoldingRegisters(block.address, block.quantity)
            : await this.client.readInputRegisters(block.address, block.quantity);
        if (res.buffer.length !== block.quantity * 2) {
          throw Object.assign(new Error(`answer carries ${res.buffer.length} bytes, expected ${block.quantity * 2}`), {
            name: 'LengthMismatch',
          });
        }
        return new Uint8Array(res.buffer); // a copy of the register bytes exactly as received
      } catch (err) {
        const { code, exceptionCode } = classifyModbusError(err);
        const where = `unit ${this.unitId} FC ${block.functionCode} @0x${block.address.toString(16)}×${block.quantity}`;
        if (!RETRYABLE.has(code) || attempt >= this.retries) {
          const message = `${where}: ${(err as Error)?.message ?? String(err)}${attempt ? ` (after ${attempt + 1} attempts)` : ''}`;
          throw new MeterReadError(code, message, exceptionCode === undefined ? { cause: err } : { cause: err, exceptionCode });
        }
        this.lastReadRetried = true;
        this.log?.debug({ code, attempt, where }, 'meter read retry');
        await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** attempt));
        this.port.flush?.(); // drop a late answer to the failed attempt before asking again
      }
    }
  }
}
