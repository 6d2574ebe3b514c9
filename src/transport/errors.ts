import type { ErrorCode } from '../protocol/index.js';
import { InfernetError } from '../errors/index.js';

/** A peer could not be reached or the session could not be established. */
export class PeerUnreachableError extends InfernetError {
  override readonly name = 'PeerUnreachableError';
  constructor(
    readonly url: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('provider_unreachable', message, options);
  }
}

/** The peer sent an error frame or closed the session during the handshake. */
export class SessionRejectedError extends Error {
  override readonly name = 'SessionRejectedError';
  constructor(
    readonly code: ErrorCode | 'closed',
    message: string,
  ) {
    super(message);
  }
}
