export * from './node-config.js';
export * from './node-home.js';
