// Proof that a peer holds the key it announced in hello: it signs our random challenge in a NIP-42 style event.
import { randomBytes } from 'node:crypto';
import type { NostrEvent } from '../protocol/index.js';
import { EVENT_KIND_SESSION_AUTH, PROTOCOL_NAME } from '../protocol/index.js';
import type { NodeKey } from './node-key.js';
import { signEnvelope, SignatureMismatchError, tagValue, verifyEnvelope } from './signed-envelope.js';

const AUTH_MAX_SKEW_SECONDS = 600;

export function newChallenge(): string {
  return randomBytes(32).toString('hex');
}

export function signSessionAuth(key: NodeKey, peerChallenge: string, version: number): NostrEvent {
  return signEnvelope(key, {
    kind: EVENT_KIND_SESSION_AUTH,
    tags: [
      ['challenge', peerChallenge],
      ['protocol', `${PROTOCOL_NAME}/${version}`],
    ],
    content: '',
  });
}

/** Throws SignatureMismatchError unless the event proves `pubkey` signed `ourChallenge` recently. */
export function verifySessionAuth(event: NostrEvent, pubkey: string, ourChallenge: string, nowSeconds = Date.now() / 1000): void {
  verifyEnvelope(event, { kind: EVENT_KIND_SESSION_AUTH, pubkey, tags: { challenge: ourChallenge } });
  if (Math.abs(nowSeconds - event.created_at) > AUTH_MAX_SKEW_SECONDS) {
    throw new SignatureMismatchError('auth event is too old or from the future: check the clock');
  }
  if (!tagValue(event, 'protocol')?.startsWith(`${PROTOCOL_NAME}/`)) throw new SignatureMismatchError('auth event has no protocol tag');
}
