export * from './node-config.js';
export * from './node-home.js';
export * from './payments-config.js';
export * from './distributed-config.js';
export * from './reputation-config.js';
export * from './mobile-config.js';
