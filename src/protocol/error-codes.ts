// Every error a peer can send, with the one-line meaning that docs/protocol.md shows.
export const ERROR_CODES = {
  malformed_json: 'The frame is not valid JSON.',
  invalid_frame: 'The frame does not match the schema of its type.',
  unknown_type: 'The frame type is not part of this protocol version.',
  unsupported_version: 'The frame or hello names a protocol version this node does not speak.',
  frame_too_large: 'The frame exceeds the size limit.',
  rate_limited: 'Too many frames in too short a time.',
  unauthenticated: 'The session has not completed authentication.',
  auth_failed: 'The authentication event is invalid, expired, or signs the wrong challenge.',
  bad_signature: 'A signed envelope failed verification.',
  decryption_failed: 'An encrypted payload could not be decrypted by its recipient.',
  idle_timeout: 'Nothing was received within the idle limit.',
  no_provider: 'No connected provider serves the requested model with a free slot.',
  model_unavailable: 'The provider does not serve that model.',
  job_not_found: 'No job with that id on this session.',
  duplicate_job: 'A job with that id already exists.',
  deadline_exceeded: 'The job passed its deadline.',
  price_too_high: 'The provider price is above the price cap.',
  busy: 'The provider has no free slot.',
  sandbox_unavailable: 'The provider cannot run jobs in its sandbox now (no Docker engine answers).',
  cancelled: 'The job was cancelled.',
  provider_unreachable: 'The provider went away before the job finished.',
  engine_failed: 'The inference engine failed while running the job.',
  grant_refused: "The job or request is outside the pairing grant of the sender's key (revoked, expired, or beyond its limits).",
  payment_required: 'The aggregator takes payment for this provider (it has payments configured and the provider a price), but the client offers no rail both can use.',
  payment_refused: 'The client refused the payment terms of the match (another chain, escrow or token than its own, or an amount above what it computes or its cap).',
  payment_failed: 'The client could not pay (insufficient token balance, allowance, gas money or channel capacity).',
  payment_missing: 'The offer came without the payment the match asked for (no matching escrow deposit, or a hold invoice not paid), or no invoice could be made.',
  internal: 'An unexpected error in the node; it is logged there.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];
