// NIP-47 messages as plain data: the info (13194), request (23194) and response (23195) events, their encrypted
// JSON content (NIP-44 v2 where the wallet advertises it, else NIP-04), built and opened by pure functions.
import * as nip04 from 'nostr-tools/nip04';
import { decrypt as nip44Decrypt, encrypt as nip44Encrypt } from 'nostr-tools/nip44';
import { finalizeEvent, getPublicKey, verifyEvent, type VerifiedEvent } from 'nostr-tools/pure';
import { z } from 'zod';
import { conversationKeyOf } from '../../identity/index.js';
import { NostrEvent } from '../../protocol/index.js';
import type { NwcErrorCode } from './nwc-errors.js';

export const NWC_INFO_KIND = 13194;
export const NWC_REQUEST_KIND = 23194;
export const NWC_RESPONSE_KIND = 23195;
/** The methods this project's client asks for and its service answers. */
export const NWC_METHODS = ['pay_invoice', 'get_balance', 'get_info', 'make_invoice', 'lookup_invoice'] as const;
export type NwcMethod = (typeof NWC_METHODS)[number];

export type NwcEncryption = 'nip44_v2' | 'nip04';
/** What this service understands, best first, as its info event advertises them. */
export const SERVICE_ENCRYPTIONS: readonly NwcEncryption[] = ['nip44_v2', 'nip04'];
/** Requests older than this are ignored; also the clock difference a client may have with the service. */
export const REQUEST_MAX_AGE_S = 120;
/** A NIP-44 payload is at most 65,535 bytes of plaintext; a request is never near it: refuse larger content unread. */
const MAX_CONTENT_CHARS = 100_000;

export const NwcRequest = z.object({ method: z.string().min(1), params: z.record(z.string(), z.unknown()).default({}) });
export type NwcRequest = z.infer<typeof NwcRequest>;

export const NwcResponse = z.object({
  result_type: z.string(),
  error: z.object({ code: z.string(), message: z.string().default('') }).nullable().optional(),
  result: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type NwcResponse = z.infer<typeof NwcResponse>;

export function tagValue(event: Pick<NostrEvent, 'tags'>, name: string): string | undefined {
  return event.tags.find((tag) => tag[0] === name)?.[1];
}

/** The encryption a client uses with a wallet: NIP-44 v2 when its info event lists it; NIP-04 otherwise (the spec's default). */
export function encryptionFromInfo(info: Pick<NostrEvent, 'tags'> | undefined): NwcEncryption {
  const offered = info ? (tagValue(info, 'encryption') ?? '').split(/\s+/) : [];
  return offered.includes('nip44_v2') ? 'nip44_v2' : 'nip04';
}

export function encryptContent(encryption: NwcEncryption, secretKey: Uint8Array, peerPubkey: string, plaintext: string): string {
  return encryption === 'nip44_v2' ? nip44Encrypt(plaintext, conversationKeyOf(secretKey, peerPubkey)) : nip04.encrypt(secretKey, peerPubkey, plaintext);
}

export function decryptContent(encryption: NwcEncryption, secretKey: Uint8Array, peerPubkey: string, payload: string): string {
  if (payload.length > MAX_CONTENT_CHARS) throw new Error(`content of ${payload.length} characters is over the limit of ${MAX_CONTENT_CHARS}`);
  return encryption === 'nip44_v2' ? nip44Decrypt(payload, conversationKeyOf(secretKey, peerPubkey)) : nip04.decrypt(secretKey, peerPubkey, payload);
}

/** The service's replaceable info event: its methods as content, its encryptions in a tag. */
export function buildInfoEvent(serviceSecret: Uint8Array, methods: readonly string[], createdAt = nowSeconds()): VerifiedEvent {
  return finalizeEvent({ kind: NWC_INFO_KIND, created_at: createdAt, content: methods.join(' '), tags: [['encryption', SERVICE_ENCRYPTIONS.join(' ')]] }, serviceSecret);
}

export function buildRequestEvent(options: { clientSecret: Uint8Array; walletPubkey: string; encryption: NwcEncryption; request: NwcRequest; expiresAt?: number; createdAt?: number }): VerifiedEvent {
  const tags = [['p', options.walletPubkey]];
  // A request without the tag is NIP-04 by the spec: only NIP-44 needs to say so.
  if (options.encryption === 'nip44_v2') tags.push(['encryption', 'nip44_v2']);
  if (options.expiresAt !== undefined) tags.push(['expiration', String(options.expiresAt)]);
  const content = encryptContent(options.encryption, options.clientSecret, options.walletPubkey, JSON.stringify(options.request));
  return finalizeEvent({ kind: NWC_REQUEST_KIND, created_at: options.createdAt ?? nowSeconds(), content, tags }, options.clientSecret);
}

export function buildResponseEvent(options: { serviceSecret: Uint8Array; clientPubkey: string; requestId: string; encryption: NwcEncryption; response: NwcResponse }): VerifiedEvent {
  const tags = [
    ['p', options.clientPubkey],
    ['e', options.requestId],
  ];
  if (options.encryption === 'nip44_v2') tags.push(['encryption', 'nip44_v2']);
  const content = encryptContent(options.encryption, options.serviceSecret, options.clientPubkey, JSON.stringify(options.response));
  return finalizeEvent({ kind: NWC_RESPONSE_KIND, created_at: nowSeconds(), content, tags }, options.serviceSecret);
}

export function errorResponse(method: string, code: NwcErrorCode, message: string): NwcResponse {
  return { result_type: method, error: { code, message }, result: null };
}

export type OpenedRequest =
  | { ok: true; id: string; clientPubkey: string; encryption: NwcEncryption; request: NwcRequest }
  /** Ignored, with the reason to log; `reply` when the client should still hear why (it can read a NIP-04 answer). */
  | { ok: false; reason: string; reply?: { id: string; clientPubkey: string; encryption: NwcEncryption; response: NwcResponse } };

/**
 * Checks and decrypts a request addressed to the service's key. Anything forged, expired, for someone else or not
 * decryptable with the sender's key is refused with a reason; nothing here trusts the event before its signature.
 */
export function openRequest(raw: unknown, serviceSecret: Uint8Array, now = nowSeconds(), maxAgeS = REQUEST_MAX_AGE_S): OpenedRequest {
  // A fresh object from the schema: nostr-tools caches "verified" on the object it was given, which a copy of a
  // genuine event would carry along with forged fields.
  const parsed = NostrEvent.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: 'not a well-formed Nostr event' };
  const event = parsed.data;
  if (!verifyEvent(event)) return { ok: false, reason: 'invalid id or signature (tampered event)' };
  if (event.kind !== NWC_REQUEST_KIND) return { ok: false, reason: `kind ${event.kind} is not a NIP-47 request` };
  if (tagValue(event, 'p') !== getPublicKey(serviceSecret)) return { ok: false, reason: 'addressed to another wallet service' };
  const expiration = Number(tagValue(event, 'expiration') ?? Number.POSITIVE_INFINITY);
  if (expiration < now) return { ok: false, reason: `expired at ${expiration}` };
  // A relay that keeps what NIP-47 marks ephemeral could hand an old request to a restarted service: too old is ignored.
  if (event.created_at < now - maxAgeS) return { ok: false, reason: `stale: made ${now - event.created_at} s ago (at most ${maxAgeS} s is accepted)` };
  const tagged = tagValue(event, 'encryption') ?? 'nip04';
  if (tagged !== 'nip44_v2' && tagged !== 'nip04') {
    const response = errorResponse('', 'UNSUPPORTED_ENCRYPTION', `this wallet speaks ${SERVICE_ENCRYPTIONS.join(' or ')}, not ${tagged}`);
    return { ok: false, reason: `unsupported encryption ${tagged}`, reply: { id: event.id, clientPubkey: event.pubkey, encryption: 'nip04', response } };
  }
  let plaintext: string;
  try {
    plaintext = decryptContent(tagged, serviceSecret, event.pubkey, event.content);
  } catch (error) {
    return { ok: false, reason: `cannot decrypt the content as ${tagged}: ${(error as Error).message}` };
  }
  const request = NwcRequest.safeParse(parseJson(plaintext));
  if (!request.success) return { ok: false, reason: 'the decrypted content is not a {method, params} request' };
  return { ok: true, id: event.id, clientPubkey: event.pubkey, encryption: tagged, request: request.data };
}

/** Decrypts a response the client received; undefined when it cannot be read (logged by the caller). */
export function openResponse(event: NostrEvent, clientSecret: Uint8Array, encryption: NwcEncryption): NwcResponse | undefined {
  try {
    const scheme = tagValue(event, 'encryption') === 'nip44_v2' ? 'nip44_v2' : encryption;
    const parsed = NwcResponse.safeParse(parseJson(decryptContent(scheme, clientSecret, event.pubkey, event.content)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
