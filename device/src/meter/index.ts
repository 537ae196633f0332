// The agent's meter reader: Modbus RTU over a serial line, driven by a @meterseal/hardware profile.
export { ModbusMeterReader, serialNumberText, type ModbusMeterReaderOptions, type RegisterSample } from './modbus-reader.js';
export { MeterReadError, classifyModbusError, type MeterReadErrorCode } from './errors.js';
export { SerialRtuPort, RtuResponseFramer, type ModbusPort, type SerialLineOptions } from './serial-port.js';
export { ModbusBus, encodeReadRequest, parseReadResponse, interFrameMs, bitsPerChar, type ModbusBusOptions } from './bus.js';
export { snapshotOf, type MeterSource, type MeterSnapshot, type MeterClock } from './source.js';
export { createMeterSource, type MeterSourceDeps } from './factory.js';
export { DlmsMeterReader, FileInvocationCounter, type DlmsMeterReaderOptions, type DlmsAuthOptions, type DlmsSample, type LoadProfileRow } from './dlms-reader.js';
