export * from './hashing.js';
export * from './tree.js';
export * from './verify.js';
export * from './range.js';
