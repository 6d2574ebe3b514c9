export * from './node-key.js';
export * from './signed-envelope.js';
export * from './sealed-payload.js';
export * from './session-auth.js';
export { NostrRelayPool, type NostrRelayPoolOptions, type PublishReport } from './nostr-relay-pool.js';
