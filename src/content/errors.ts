// Content errors, each a name a caller can branch on and a message a user can act on.
import { InfernetError } from '../errors/index.js';

export class InvalidCidError extends InfernetError {
  override readonly name = 'InvalidCidError';
  constructor(text: string, options?: ErrorOptions) {
    super('internal', `"${text}" is not a content id (a CIDv1 such as bafy... or bafk...)`, options);
  }
}

/** A file larger than the fetch allows: refused on its root node's size, before a byte of its leaves is downloaded. */
export class ContentTooLargeError extends InfernetError {
  override readonly name = 'ContentTooLargeError';
  constructor(readonly cid: string, readonly size: number, readonly maxBytes: number) {
    super('model_unavailable', `${cid} is ${size} bytes, over the ${maxBytes} bytes this fetch allows`);
  }
}

export class UnsupportedContentError extends InfernetError {
  override readonly name = 'UnsupportedContentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

/** A block whose bytes do not hash to the CID asked for, or a node that is not a UnixFS file node. */
export class BlockMismatchError extends InfernetError {
  override readonly name = 'BlockMismatchError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_frame', message, options);
  }
}

export class ContentNotFoundError extends InfernetError {
  override readonly name = 'ContentNotFoundError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

/** Nobody (left) to fetch from; what was verified so far is kept for the next attempt. */
export class NoProvidersError extends InfernetError {
  override readonly name = 'NoProvidersError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('no_provider', message, options);
  }
}

/** A peer broke the exchange protocol (an oversized or unparsable frame, an answer to nothing asked). */
export class ContentProtocolError extends InfernetError {
  override readonly name = 'ContentProtocolError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_frame', message, options);
  }
}

export class ContentStoreError extends InfernetError {
  override readonly name = 'ContentStoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}
