// @meterseal/simulator: a virtual Modbus RTU meter on a real serial device, for tests and demos.
export { SimulatorError, type ExceptionTarget } from './errors.js';
export { crc16, crcValid, withCrc } from './rtu/crc.js';
export {
  parseRequest,
  encodeReadRequest,
  encodeResponse,
  encodeException,
  requestLength,
  FunctionCode,
  ExceptionCode,
  BROADCAST,
  MAX_ADU,
  type ModbusRequest,
  type SupportedFunctionCode,
} from './rtu/frame.js';
export { RtuRequestFramer } from './rtu/framer.js';
export { MeterModel, type MeterModelOptions, type MeterSnapshot } from './meter-model.js';
export { RegisterBank, physicalValue } from './register-bank.js';
export { simulatorConfigSchema, parseSimulatorConfig, type SimulatorConfig, type SimulatorConfigInput } from './config.js';
export { startSimulator, type SimulatorHandle, type SimulatorOptions, type SimulatorStats } from './server.js';
export { socatAvailable, createPtyPair, type PtyPair, type PtyPairOptions } from './pty.js';
export { FaultyLine, faultsSchema, driftingClock, dice as seededRng, lineBitsPerChar, type Faults, type FaultsInput, type FaultyLineOptions, type FaultyLineStats } from './faulty-line.js';
export { createInProcessLink, InProcessPort, type InProcessLink, type InProcessLinkOptions } from './link.js';
// DL/T 645-2007: a virtual State Grid meter on a serial device or stream (its own slave-side codec).
export {
  startDlt645Simulator,
  DLT645_ERR_NO_DATA,
  DLT645_ERR_OTHER,
  type Dlt645SimulatorHandle,
  type Dlt645SimulatorOptions,
  type Dlt645SimulatorStats,
} from './dlt645/server.js';
export {
  dlt645SimulatorConfigSchema,
  parseDlt645SimulatorConfig,
  type Dlt645SimulatorConfig,
  type Dlt645SimulatorConfigInput,
} from './dlt645/config.js';
export {
  parseDlt645Frame,
  encodeDlt645Frame,
  dlt645Checksum,
  dlt645Bcd,
  dlt645AddressToWire,
  dlt645DiFromData,
  dlt645DiToData,
  type Dlt645WireFrame,
} from './dlt645/codec.js';
export { Dlt645RequestFramer } from './dlt645/framer.js';
export { clockValue as dlt645ClockValue } from './dlt645/server.js';
export { startFleet, dlt645FleetAddress, type FleetOptions, type FleetMeter, type FleetHandle } from './fleet.js';
export { TariffRegisters, tariffAt, registerValue } from './dlt645/registers.js';
export * from './dlms/index.js'; // DLMS/COSEM HDLC meter
