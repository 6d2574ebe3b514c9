// One base for every error Infernet names: the wire code a peer is told, a message a user can act on, and the
// cause. What a code means over HTTP and as the CLI's exit status is written here once, for every caller.
import type { ErrorCode } from '../protocol/index.js';

export class InfernetError extends Error {
  override readonly name: string = 'InfernetError';
  constructor(
    /** What a peer, an HTTP client or the CLI is told: one of the protocol's error codes (src/protocol). */
    readonly code: ErrorCode,
    message: string,
    options?: InfernetErrorOptions,
  ) {
    super(message, options);
    if (options?.exitCode !== undefined) this.exitCode = options.exitCode;
    if (options?.httpStatus !== undefined) this.httpStatus = options.httpStatus;
  }

  /** The `infernet` command's exit status when it fails with this error, where it is not the code's own. */
  readonly exitCode?: number;
  /** The HTTP status an API answers this error with, where it is not the code's own (an HTTP API's own refusal). */
  readonly httpStatus?: number;
}

export interface InfernetErrorOptions {
  cause?: unknown;
  exitCode?: number;
  httpStatus?: number;
}

/** The wire code of any error: its own for an InfernetError, internal for anything else (a bug of this node). */
export function errorCodeOf(error: unknown): ErrorCode {
  return error instanceof InfernetError ? error.code : 'internal';
}

/** The message to show or send for any thrown value, bounded to what a frame carries. */
export function errorMessageOf(error: unknown, maxLength = Number.MAX_SAFE_INTEGER): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, maxLength);
}

/** Exit statuses of the `infernet` command, as the README documents them. */
export const EXIT_CODES = {
  success: 0,
  /** Any failure: the job, the network, the node or the arguments. */
  failure: 1,
  /** An unknown command or subcommand. */
  usage: 2,
  /** The user stopped it (Ctrl-C). */
  interrupted: 130,
} as const;

/**
 * Every wire code's meanings: `http`, the status an HTTP API answers this node's own error with; `relayed`, whether
 * a job the network failed with it is answered with that status too (the network cannot serve it now, does not
 * know the model, or ran late), where any other failure from the network is 502 Bad Gateway. A new code must be
 * placed here before it compiles.
 */
const MEANINGS = {
  malformed_json: { http: 400, relayed: false },
  invalid_frame: { http: 400, relayed: false },
  unknown_type: { http: 400, relayed: false },
  unsupported_version: { http: 400, relayed: false },
  frame_too_large: { http: 413, relayed: false },
  rate_limited: { http: 429, relayed: false },
  unauthenticated: { http: 401, relayed: false },
  auth_failed: { http: 401, relayed: false },
  bad_signature: { http: 502, relayed: false },
  decryption_failed: { http: 502, relayed: false },
  idle_timeout: { http: 504, relayed: false },
  no_provider: { http: 503, relayed: true },
  model_unavailable: { http: 404, relayed: true },
  job_not_found: { http: 404, relayed: false },
  duplicate_job: { http: 409, relayed: false },
  deadline_exceeded: { http: 504, relayed: true },
  price_too_high: { http: 503, relayed: true },
  busy: { http: 503, relayed: true },
  sandbox_unavailable: { http: 503, relayed: true },
  cancelled: { http: 502, relayed: false },
  provider_unreachable: { http: 503, relayed: true },
  engine_failed: { http: 502, relayed: false },
  grant_refused: { http: 403, relayed: false },
  payment_required: { http: 402, relayed: false },
  payment_refused: { http: 402, relayed: false },
  payment_failed: { http: 402, relayed: false },
  payment_missing: { http: 402, relayed: false },
  internal: { http: 500, relayed: false },
} as const satisfies Record<ErrorCode, { http: number; relayed: boolean }>;

/** The HTTP status an API answers an error with: the one it names for itself, else its code's. */
export function httpStatusOf(error: unknown): number {
  if (error instanceof InfernetError && error.httpStatus !== undefined) return error.httpStatus;
  return MEANINGS[errorCodeOf(error)].http;
}

/** The HTTP status of a job that failed in the network with this code, as a node's API relays it. */
export function relayedHttpStatusOf(code: ErrorCode): number {
  const meaning = MEANINGS[code];
  return meaning.relayed ? meaning.http : 502;
}

/** The exit status of the `infernet` command that failed with this error: 130 when the user stopped it, else 1. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof InfernetError && error.exitCode !== undefined) return error.exitCode;
  return exitCodeOfCode(errorCodeOf(error));
}

/** The exit status of a command whose job failed with this code (a wire code, or `closed` for a lost session). */
export function exitCodeOfCode(code: string): number {
  return code === 'cancelled' ? EXIT_CODES.interrupted : EXIT_CODES.failure;
}
