export * from './hashing.js';
export * from './tree.js';
export * from './verify.js';
