// @meterseal/edge-gateway: a data concentrator that polls several meters on one bus, signs on their behalf
// with gateway-held keys, and forwards meters' own signed traffic; nothing queued is ever dropped.
export { startGateway, OUTBOX_FILE, type GatewayHandle, type GatewayDeps, type GatewayStats } from './gateway.js';
export { GatewayConfig, GatewayMeter, parseGatewayConfig, type GatewayConfigInput } from './config.js';
export { GatewayError, type GatewayErrorCode } from './errors.js';
export { startForwarder, meterOfRequest, type ForwarderHandle, type ForwarderOptions, type ForwarderStats } from './forwarder.js';
export { MeterSession, type MeterSessionOptions } from './meter-session.js';
export { SharedOutbox, MeterOutbox, type SharedOutboxOptions } from './shared-outbox.js';
export { migrateMeterOutbox, LEGACY_OUTBOX_FILE } from './migrate.js';
export { OutboxMeter, diskState, type DiskState } from './disk.js';
