// The agent's meter reader: Modbus RTU over a serial line, driven by a @meterseal/hardware profile.
export { ModbusMeterReader, type ModbusMeterReaderOptions, type RegisterSample } from './modbus-reader.js';
export { MeterReadError, classifyModbusError, type MeterReadErrorCode } from './errors.js';
export { SerialRtuPort, RtuResponseFramer, type ModbusPort, type SerialLineOptions } from './serial-port.js';
export { snapshotOf, type MeterSource, type MeterSnapshot, type MeterClock } from './source.js';
export { createMeterSource, type MeterSourceDeps } from './factory.js';
