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
export { socatAvailable, createPtyPair, type PtyPair } from './pty.js';
export { createInProcessLink, InProcessPort, type InProcessLink, type InProcessLinkOptions } from './link.js';
