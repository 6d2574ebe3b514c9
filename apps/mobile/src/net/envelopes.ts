// The phone's half of a job's envelopes: its signed, encrypted spec and the provider's verified result. Same
// format as the node's src/jobs/job-envelopes.ts (NIP-01 events, NIP-44 content split past 64 KiB).
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { decrypt, encrypt, getConversationKey } from 'nostr-tools/nip44';
import { finalizeEvent, verifyEvent, type Event } from 'nostr-tools/pure';
import type { PhoneKey } from './phone-key.js';
import { EVENT_KIND_JOB_RESULT, EVENT_KIND_JOB_SPEC, EVENT_KIND_SESSION_AUTH, JobOutput, PROTOCOL_NAME, type JobSpec, type NostrEvent } from './protocol.js';

const NIP44_MAX_PLAINTEXT_BYTES = 65_535;
const AUTH_MAX_SKEW_SECONDS = 600;

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

export function signEvent(key: PhoneKey, kind: number, tags: string[][], content: string): NostrEvent {
  const event = finalizeEvent({ kind, tags, content, created_at: Math.floor(Date.now() / 1000) }, key.secretKey);
  return { id: event.id, pubkey: event.pubkey, created_at: event.created_at, kind: event.kind, tags: event.tags, content: event.content, sig: event.sig };
}

export function tagValue(event: NostrEvent, name: string): string | undefined {
  return event.tags.find((tag) => tag[0] === name)?.[1];
}

/** Throws EnvelopeError unless id and signature verify and kind, signer and tags are the expected ones. */
export function checkEvent(event: NostrEvent, kind: number, pubkey: string, tags: Record<string, string> = {}): void {
  const { id, created_at, tags: eventTags, content, sig } = event;
  if (!verifyEvent({ id, pubkey: event.pubkey, created_at, kind: event.kind, tags: eventTags, content, sig } as Event)) throw new EnvelopeError(`event ${id.slice(0, 12)} has an invalid signature`);
  if (event.kind !== kind) throw new EnvelopeError(`expected an event of kind ${kind}, got ${event.kind}`);
  if (event.pubkey !== pubkey) throw new EnvelopeError(`event signed by ${event.pubkey.slice(0, 12)}, expected ${pubkey.slice(0, 12)}`);
  for (const [name, value] of Object.entries(tags)) {
    if (tagValue(event, name) !== value) throw new EnvelopeError(`event tag ${name} is not ${value}`);
  }
}

export function signSessionAuth(key: PhoneKey, peerChallenge: string, version: number): NostrEvent {
  return signEvent(key, EVENT_KIND_SESSION_AUTH, [['challenge', peerChallenge], ['protocol', `${PROTOCOL_NAME}/${version}`]], '');
}

export function checkSessionAuth(event: NostrEvent, pubkey: string, ourChallenge: string): void {
  checkEvent(event, EVENT_KIND_SESSION_AUTH, pubkey, { challenge: ourChallenge });
  if (Math.abs(Date.now() / 1000 - event.created_at) > AUTH_MAX_SKEW_SECONDS) throw new EnvelopeError("the node's auth event is too old: check the phone's clock");
}

export function sealJobSpec(key: PhoneKey, provider: string, spec: JobSpec): NostrEvent {
  const content = seal(JSON.stringify(spec), getConversationKey(key.secretKey, provider));
  return signEvent(key, EVENT_KIND_JOB_SPEC, [['p', provider], ['job', spec.jobId], ['model', spec.model.name]], content);
}

export function openJobResult(key: PhoneKey, event: NostrEvent, provider: string, jobId: string): JobOutput {
  checkEvent(event, EVENT_KIND_JOB_RESULT, provider, { job: jobId, p: key.publicKey });
  const output = JobOutput.parse(JSON.parse(unseal(event.content, getConversationKey(key.secretKey, provider))));
  if (sha256Hex(output.output) !== tagValue(event, 'output_hash')) throw new EnvelopeError('the output does not match the signed output hash');
  return output;
}

export function sha256Hex(text: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(text)));
}

export function seal(plaintext: string, conversationKey: Uint8Array): string {
  if (new TextEncoder().encode(plaintext).length <= NIP44_MAX_PLAINTEXT_BYTES) return encrypt(plaintext, conversationKey);
  return JSON.stringify(splitUtf8(plaintext).map((piece) => encrypt(piece, conversationKey)));
}

export function unseal(payload: string, conversationKey: Uint8Array): string {
  try {
    if (!payload.startsWith('[')) return decrypt(payload, conversationKey);
    const pieces: unknown = JSON.parse(payload);
    if (!Array.isArray(pieces) || !pieces.every((piece) => typeof piece === 'string')) throw new Error('not an array of payloads');
    return pieces.map((piece: string) => decrypt(piece, conversationKey)).join('');
  } catch (cause) {
    throw new EnvelopeError(`cannot decrypt payload: ${(cause as Error).message}`, { cause });
  }
}

function splitUtf8(text: string): string[] {
  const encoder = new TextEncoder();
  const pieces: string[] = [];
  let current = '';
  let bytes = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size > NIP44_MAX_PLAINTEXT_BYTES) {
      pieces.push(current);
      current = '';
      bytes = 0;
    }
    current += char;
    bytes += size;
  }
  if (current) pieces.push(current);
  return pieces;
}

export function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  return bytesToHex(buffer);
}
