import type { ErrorCode } from '../protocol/index.js';

/** A peer could not be reached or the session could not be established. */
export class PeerUnreachableError extends Error {
  override readonly name = 'PeerUnreachableError';
  constructor(
    readonly url: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
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
