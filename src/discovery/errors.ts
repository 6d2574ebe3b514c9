// Why a record, binding or lookup was refused: one class per failure, a short message, the cause attached.
import { InfernetError } from '../errors/index.js';

export class MalformedRecordError extends InfernetError {
  override readonly name = 'MalformedRecordError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_frame', message, options);
  }
}

/** The Nostr event's id or signature does not verify, or it is not the kind expected. */
export class RecordSignatureError extends InfernetError {
  override readonly name = 'RecordSignatureError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad_signature', message, options);
  }
}

/** The Nostr key and the libp2p peer id do not vouch for each other. */
export class PeerBindingError extends InfernetError {
  override readonly name = 'PeerBindingError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad_signature', message, options);
  }
}

/** A valid record that came from, or names, another peer than the one that delivered it. */
export class PeerIdMismatchError extends InfernetError {
  override readonly name = 'PeerIdMismatchError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad_signature', message, options);
  }
}

export class RecordExpiredError extends InfernetError {
  override readonly name = 'RecordExpiredError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_frame', message, options);
  }
}

/** A provider found in the DHT could not be reached or did not hand over its record. */
export class RecordFetchError extends InfernetError {
  override readonly name = 'RecordFetchError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('provider_unreachable', message, options);
  }
}

export class DiscoveryNotStartedError extends InfernetError {
  override readonly name = 'DiscoveryNotStartedError';
  constructor(message = 'the discovery service is not started: call start() first') {
    super('internal', message);
  }
}

/** Every error verifyProviderRecord and verifyPeerBinding throw. */
export type RecordRejection = MalformedRecordError | RecordSignatureError | PeerBindingError | PeerIdMismatchError | RecordExpiredError;

export function isRecordRejection(error: unknown): error is RecordRejection {
  return (
    error instanceof MalformedRecordError ||
    error instanceof RecordSignatureError ||
    error instanceof PeerBindingError ||
    error instanceof PeerIdMismatchError ||
    error instanceof RecordExpiredError
  );
}

/** A gossip message that is not one of ours: bad JSON, wrong shape or version. */
export class MalformedGossipError extends InfernetError {
  override readonly name = 'MalformedGossipError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_frame', message, options);
  }
}
