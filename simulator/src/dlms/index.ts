// DLMS/COSEM over HDLC (IEC 62056-46, -5-3, -6-2): a virtual meter with its own server-side codec.
export { startDlmsSimulator, type DlmsSimulatorHandle, type DlmsSimulatorOptions, type DlmsSimulatorStats } from './server.js';
export { dlmsSimulatorConfigSchema, parseDlmsSimulatorConfig, type DlmsSimulatorConfig, type DlmsSimulatorConfigInput } from './config.js';
export { gmacF as dlmsHlsGmac } from './apdu.js';
