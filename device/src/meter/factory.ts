// Builds the agent's meter source from its config: one place per protocol, so adding a protocol never
// touches the agent's delivery logic.
import { loadDlmsProfile, loadDlt645Profile, loadProfile } from '@meterseal/hardware';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config.js';
import { Dlt645MeterReader } from '../dlt645/index.js';
import { ModbusMeterReader } from './modbus-reader.js';
import { DlmsMeterReader } from './dlms-reader.js';
import { FileInvocationCounter } from '../dlms/invocation-counter.js';
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

/** serial.protocol "dlms": DLMS/COSEM over HDLC (IEC 62056-46); the HLS invocation counter lives in dataDir. */
function dlmsSource(config: AgentConfig, deps: MeterSourceDeps, log: Logger): MeterSource {
  const d = config.serial.dlms ?? { clientAddress: 16, serverLogical: 1, auth: 'none' as const, invocationCounterStart: 0, keepAssociation: false };
  const bytes = (h: string | undefined) => (h === undefined ? undefined : Uint8Array.from(Buffer.from(h, 'hex')));
  return new DlmsMeterReader({
    ...(config.serial.path !== undefined ? { path: config.serial.path } : {}),
    ...(deps.port !== undefined ? { stream: deps.port } : {}),
    baudRate: config.serial.baudRate,
    profile: loadDlmsProfile(config.serial.profile),
    clientAddress: d.clientAddress,
    serverLogical: d.serverLogical,
    ...(d.serverPhysical !== undefined ? { serverPhysical: d.serverPhysical } : {}),
    auth: {
      mechanism: d.auth,
      ...(d.password !== undefined ? { password: d.password } : {}),
      ...(d.auth === 'hls'
        ? { authenticationKey: bytes(d.authenticationKey)!, encryptionKey: bytes(d.encryptionKey)!, systemTitle: bytes(d.systemTitle)!,
            invocationCounter: new FileInvocationCounter(join(config.dataDir, 'dlms-invocation-counter'), BigInt(d.invocationCounterStart)) }
        : {}),
    },
    timeoutMs: config.serial.timeoutMs,
    keepAssociation: d.keepAssociation,
    log,
  });
}

export function createMeterSource(config: AgentConfig, deps: MeterSourceDeps, log: Logger): MeterSource {
  switch (config.serial.protocol) {
    case 'dlt645':
      return dlt645Source(config, deps, log);
    case 'modbus':
      return modbusSource(config, deps);
    case 'dlms':
      return dlmsSource(config, deps, log);
  }
}
