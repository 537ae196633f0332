export * from './agent.js';
export * from './config.js';
export * from './errors.js';
export * from './outbox.js';
export * from './keystore.js';
export * from './reading-builder.js';
export * from './meter/index.js';
export * from './dlt645/index.js';
export * as hdlc from './dlms/hdlc/index.js';
