export * from './errors.js';
export * from './ports.js';
export * from './client.js';
export * from './format.js';
export * from './provision.js';
export { buildProgram } from './program.js';
