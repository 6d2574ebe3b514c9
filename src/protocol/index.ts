export * from './version.js';
export * from './error-codes.js';
export * from './schemas.js';
export * from './parse-frame.js';
export * from './embedding-vectors.js';
export { renderProtocolDoc } from './protocol-doc.js';
export * from './pairing-link.js';
export * from './content-id.js';
export { providerSpecOf } from './provider-spec.js';
