// The wire protocol as the node defines it: the app validates every frame with the node's own zod schemas
// (src/protocol), so phone and node cannot drift apart. Only pure, browser-safe modules are imported here.
export { FRAME_SCHEMAS, JobOutput, JobSpec, TokenBatch, type Frame, type FrameOf, type FrameType, type JobSpecInput, type NostrEvent, type OutgoingFrame, type Price } from '../../../../src/protocol/schemas.js';
export { providerSpecOf } from '../../../../src/protocol/provider-spec.js';
export { ERROR_CODES, type ErrorCode } from '../../../../src/protocol/error-codes.js';
export { EVENT_KIND_JOB_RESULT, EVENT_KIND_JOB_SPEC, EVENT_KIND_SESSION_AUTH, PROTOCOL_NAME, SUPPORTED_PROTOCOL_VERSIONS } from '../../../../src/protocol/version.js';
export { formatPairingLink, parsePairingLink, PairingLinkError, type PairingLink } from '../../../../src/protocol/pairing-link.js';
export type { JobEventRow, JobRow, LogRow, ProviderRow, ReputationEventRow } from '../../../../src/storage/collections.js';
