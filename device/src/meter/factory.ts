// Builds the agent's meter source from its config: one place per protocol, so adding a protocol never
// touches the agent's delivery logic.
import { loadDlt645Profile, loadProfile } from '@meterseal/hardware';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config.js';
import { Dlt645MeterReader } from '../dlt645/index.js';
import { ModbusMeterReader } from './modbus-reader.js';
import type { ModbusPort } from './serial-port.js';
import type { MeterSource } from './source.js';

export interface MeterSourceDeps {
  /** A custom serial port (the in-process fallback link; every protocol's reader takes it). */
  port?: ModbusPort;
}

/** serial.protocol "dlt645": a DL/T 645-2007 reader on serial.path (or on deps.port, the in-process link). */
function dlt645Source(config: AgentConfig, deps: MeterSourceDeps, log: Logger): MeterSource {
  return new Dlt645MeterReader({
    ...(config.serial.path !== undefined ? { path: config.serial.path } : {}),
    ...(deps.port !== undefined ? { stream: deps.port } : {}),
    address: config.serial.address!, // the config schema requires it for dlt645
    baudRate: config.serial.baudRate,
    profile: loadDlt645Profile(config.serial.profile),
    timeoutMs: config.serial.timeoutMs,
    log,
  });
}

function modbusSource(config: AgentConfig, deps: MeterSourceDeps): MeterSource {
  return new ModbusMeterReader({
    ...(config.serial.path !== undefined ? { path: config.serial.path } : {}),
    ...(deps.port !== undefined ? { port: deps.port } : {}),
    baudRate: config.serial.baudRate,
    unitId: config.serial.unitId,
    profile: loadProfile(config.serial.profile),
    timeoutMs: config.serial.timeoutMs,
  });
}

export function createMeterSource(config: AgentConfig, deps: MeterSourceDeps, log: Logger): MeterSource {
  switch (config.serial.protocol) {
    case 'dlt645':
      return dlt645Source(config, deps, log);
    case 'modbus':
      return modbusSource(config, deps);
  }
}
