export * from './path.js';
export * from './bundle.js';
export * from './reader.js';
