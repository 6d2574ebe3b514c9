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

/**
 * The peer sent an error frame or closed the session during the handshake. `peerCode` is what the peer said, or
 * `closed` when it went away without a word; the wire code is the same, and a closed session reads as a peer gone
 * away (provider_unreachable), as a job's closed session does wherever this node reports one.
 */
export class SessionRejectedError extends InfernetError {
  override readonly name = 'SessionRejectedError';
  constructor(
    readonly peerCode: ErrorCode | 'closed',
    message: string,
  ) {
    super(peerCode === 'closed' ? 'provider_unreachable' : peerCode, message);
  }
}
