export * from './line.js';
export * from './settings.js';
export * from './audit.js';
export * from './guard.js';
export * from './commands.js';
export * from './session.js';
export * from './transport.js';
export * from './agent-console.js';
