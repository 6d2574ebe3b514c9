export * from './errors.js';
export * from './peer-session.js';
export * from './peer-server.js';
export * from './dial-peer.js';
export { TokenBucket } from './token-bucket.js';
