// @meterseal/airgap-controller: the only route from the collection system to the ledger's query API, open
// only for the length of a reconciliation window. Depends on neither back end.
export { startAirgap, type AirgapHandle } from './controller.js';
export type { AirgapStats, WindowInfo } from './window-manager.js';
export {
  AirgapConfigSchema,
  parseAirgapConfig,
  MAX_TIMER_MS,
  type AirgapConfig,
  type AirgapConfigInput,
  type RelayConfig,
  type NetnsConfig,
  type GpioConfig,
} from './config.js';
export { openWindow, type OpenWindowOptions, type Window, type WindowEnd } from './client.js';
export {
  AirgapError,
  PROTOCOL_ERROR_CODES,
  LOCAL_ERROR_CODES,
  isProtocolErrorCode,
  type AirgapErrorCode,
  type ProtocolErrorCode,
} from './errors.js';
export type { AirgapDriver, Endpoint, Traffic } from './drivers/driver.js';
export { RelayDriver, type RelayDriverOptions } from './drivers/relay.js';
export { createDriver } from './drivers/create-driver.js';
export { NetnsDriver, validateNetnsLayout, type NetnsDriverOptions, type NetnsLayout } from './drivers/netns.js';
export { setupNetns, teardownNetns } from './drivers/netns-setup.js';
export { GpioDriver, type GpioDriverOptions } from './drivers/gpio.js';
export { SysfsGpioLine, openGpioLine, type GpioLine, type GpioLineConfig, type Level } from './drivers/gpio-line.js';
export { LibgpiodLine, type LibgpiodLineOptions } from './drivers/gpio-libgpiod.js';
export type { AuditRecord } from './audit.js';
export {
  CLOSE_REASONS,
  OPS,
  parseRequest,
  type CloseReason,
  type ControlRequest,
  type Op,
} from './protocol.js';
export { LineFramer, MAX_LINE_BYTES, type FramedLines } from './framer.js';
export { airgapStatus, readAuditTail, type AirgapStatusView } from './status-client.js';
export { LedgerRecorder, loadControllerKey, type LedgerRecordConfig } from './ledger-record.js';
export { ScheduleGate } from './schedule.js';
export { DEFAULT_HTTP_ALLOWLIST, parseRequestHead, checkRequest, type RequestHead } from './drivers/http-filter.js';
export type { RefusedRequest } from './drivers/relay.js';
