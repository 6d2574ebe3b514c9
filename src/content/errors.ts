// Content errors, each a name a caller can branch on and a message a user can act on.

export class InvalidCidError extends Error {
  override readonly name = 'InvalidCidError';
  constructor(text: string, options?: ErrorOptions) {
    super(`"${text}" is not a content id (a CIDv1 such as bafy... or bafk...)`, options);
  }
}

export class UnsupportedContentError extends Error {
  override readonly name = 'UnsupportedContentError';
}

/** A block whose bytes do not hash to the CID asked for, or a node that is not a UnixFS file node. */
export class BlockMismatchError extends Error {
  override readonly name = 'BlockMismatchError';
}

export class ContentNotFoundError extends Error {
  override readonly name = 'ContentNotFoundError';
}

/** Nobody (left) to fetch from; what was verified so far is kept for the next attempt. */
export class NoProvidersError extends Error {
  override readonly name = 'NoProvidersError';
}

/** A peer broke the exchange protocol (an oversized or unparsable frame, an answer to nothing asked). */
export class ContentProtocolError extends Error {
  override readonly name = 'ContentProtocolError';
}

export class ContentStoreError extends Error {
  override readonly name = 'ContentStoreError';
}
