// Job specs and results travel as Nostr events (NIP-01 id + schnorr signature), so anyone holding one can
// check who signed exactly these bytes.
import { finalizeEvent, verifyEvent, type Event } from 'nostr-tools/pure';
import type { NostrEvent } from '../protocol/index.js';
import type { NodeKey } from './node-key.js';
import { InfernetError } from '../errors/index.js';

export class SignatureMismatchError extends InfernetError {
  override readonly name = 'SignatureMismatchError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad_signature', message, options);
  }
}

export interface EnvelopeTemplate {
  kind: number;
  tags: string[][];
  content: string;
}

export function signEnvelope(key: NodeKey, template: EnvelopeTemplate, createdAt = Math.floor(Date.now() / 1000)): NostrEvent {
  const event = finalizeEvent({ ...template, created_at: createdAt }, key.secretKey);
  return { id: event.id, pubkey: event.pubkey, created_at: event.created_at, kind: event.kind, tags: event.tags, content: event.content, sig: event.sig };
}

export interface EnvelopeExpectation {
  kind: number;
  /** The signer the envelope must come from, when known. */
  pubkey?: string;
  /** Tags that must be present with exactly these values, e.g. { job: id, p: ourKey }. */
  tags?: Record<string, string>;
}

/** Throws SignatureMismatchError unless the event's id and signature verify and it matches the expectation. */
export function verifyEnvelope(event: NostrEvent, expected: EnvelopeExpectation): void {
  // A copy of the wire fields only: nostr-tools caches a verdict on the object under a symbol, and a spread
  // would carry a cached "valid" from a signed object over to a tampered copy of it.
  const { id, pubkey, created_at, kind, tags, content, sig } = event;
  if (!verifyEvent({ id, pubkey, created_at, kind, tags, content, sig } as Event)) throw new SignatureMismatchError(`event ${event.id.slice(0, 12)} has an invalid id or signature`);
  if (event.kind !== expected.kind) throw new SignatureMismatchError(`expected an event of kind ${expected.kind}, got ${event.kind}`);
  if (expected.pubkey && event.pubkey !== expected.pubkey) {
    throw new SignatureMismatchError(`event signed by ${event.pubkey.slice(0, 12)}, expected ${expected.pubkey.slice(0, 12)}`);
  }
  for (const [name, value] of Object.entries(expected.tags ?? {})) {
    if (tagValue(event, name) !== value) throw new SignatureMismatchError(`event tag "${name}" is not ${value}`);
  }
}

export function tagValue(event: Pick<NostrEvent, 'tags'>, name: string): string | undefined {
  return event.tags.find((tag) => tag[0] === name)?.[1];
}
