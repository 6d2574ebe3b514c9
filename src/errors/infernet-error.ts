// One base for every error Infernet names: the wire code a peer is told, a message a user can act on, and the
// cause. What a code means over HTTP and as the CLI's exit status is written here once, for every caller.
import type { ErrorCode } from '../protocol/index.js';

export class InfernetError extends Error {
  override readonly name: string = 'InfernetError';
  constructor(
    /** What a peer, an HTTP client or the CLI is told: one of the protocol's error codes (src/protocol). */
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The wire code of any error: its own for an InfernetError, internal for anything else (a bug of this node). */
export function errorCodeOf(error: unknown): ErrorCode {
  return error instanceof InfernetError ? error.code : 'internal';
}

/** The message to show or send for any thrown value, bounded to what a frame carries. */
export function errorMessageOf(error: unknown, maxLength = Number.MAX_SAFE_INTEGER): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, maxLength);
}

/** Exit statuses of the `infernet` command, by what went wrong. */
export const EXIT_CODES = {
  /** A bug or an unexpected failure of this node. */
  internal: 1,
  /** The peer or the request broke the protocol, or could not be authenticated. */
  protocol: 2,
  /** The network refused the job (no provider, price, deadline, payment, grant, duplicate id). */
  refused: 3,
  /** A peer went away or failed while the job ran. */
  failed: 4,
} as const;

/** Every wire code's HTTP status and exit status: a new code must be placed here before it compiles. */
const MEANINGS = {
  malformed_json: { http: 400, exit: EXIT_CODES.protocol },
  invalid_frame: { http: 400, exit: EXIT_CODES.protocol },
  unknown_type: { http: 400, exit: EXIT_CODES.protocol },
  unsupported_version: { http: 400, exit: EXIT_CODES.protocol },
  frame_too_large: { http: 413, exit: EXIT_CODES.protocol },
  rate_limited: { http: 429, exit: EXIT_CODES.protocol },
  unauthenticated: { http: 401, exit: EXIT_CODES.protocol },
  auth_failed: { http: 401, exit: EXIT_CODES.protocol },
  bad_signature: { http: 502, exit: EXIT_CODES.protocol },
  decryption_failed: { http: 502, exit: EXIT_CODES.protocol },
  idle_timeout: { http: 504, exit: EXIT_CODES.failed },
  no_provider: { http: 503, exit: EXIT_CODES.refused },
  model_unavailable: { http: 404, exit: EXIT_CODES.refused },
  job_not_found: { http: 404, exit: EXIT_CODES.refused },
  duplicate_job: { http: 409, exit: EXIT_CODES.refused },
  deadline_exceeded: { http: 504, exit: EXIT_CODES.failed },
  price_too_high: { http: 503, exit: EXIT_CODES.refused },
  busy: { http: 503, exit: EXIT_CODES.refused },
  sandbox_unavailable: { http: 503, exit: EXIT_CODES.refused },
  cancelled: { http: 502, exit: EXIT_CODES.failed },
  provider_unreachable: { http: 503, exit: EXIT_CODES.failed },
  engine_failed: { http: 502, exit: EXIT_CODES.failed },
  grant_refused: { http: 403, exit: EXIT_CODES.refused },
  payment_required: { http: 402, exit: EXIT_CODES.refused },
  payment_refused: { http: 402, exit: EXIT_CODES.refused },
  payment_failed: { http: 402, exit: EXIT_CODES.refused },
  payment_missing: { http: 402, exit: EXIT_CODES.refused },
  internal: { http: 500, exit: EXIT_CODES.internal },
} as const satisfies Record<ErrorCode, { http: number; exit: number }>;

/** The HTTP status an API answers an error with. */
export function httpStatusOf(error: unknown): number {
  return MEANINGS[errorCodeOf(error)].http;
}

/** The exit status of the `infernet` command that failed with this error. */
export function exitCodeOf(error: unknown): number {
  return MEANINGS[errorCodeOf(error)].exit;
}
