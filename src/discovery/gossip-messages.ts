// What travels on the discovery gossip topics, one schema each. Gossipsub signs every message with the sender's
// libp2p key (StrictSign), so a heartbeat needs no signature of its own; records and leaving notices are Nostr
// events so that they stay verifiable after being relayed, stored or shown to a user.
import { z } from 'zod';
import { signEnvelope, tagValue, verifyEnvelope, type NodeKey } from '../identity/index.js';
import { NostrEvent } from '../protocol/index.js';
import { EVENT_KIND_PROVIDER_LEAVING, MAX_CLOCK_SKEW_MS, MAX_LEAVING_AGE_MS } from './constants.js';
import { MalformedGossipError, PeerBindingError, RecordExpiredError, RecordSignatureError } from './errors.js';
import { ProviderLoad } from './provider-record.js';

const GOSSIP_VERSION = 1;

/** On infernet/providers/1: a provider's signed record (on announce and each refresh), or its leaving notice. */
export const ProvidersTopicMessage = z.discriminatedUnion('type', [
  z.object({ v: z.literal(GOSSIP_VERSION), type: z.literal('record'), event: NostrEvent }).strict(),
  z.object({ v: z.literal(GOSSIP_VERSION), type: z.literal('leaving'), event: NostrEvent }).strict(),
]);
export type ProvidersTopicMessage = z.infer<typeof ProvidersTopicMessage>;

/** On infernet/heartbeat/1, from each announced provider at the heartbeat interval. */
export const Heartbeat = z
  .object({
    v: z.literal(GOSSIP_VERSION),
    /** Unix milliseconds at the sender. */
    ts: z.number().int().nonnegative(),
    uptimeS: z.number().int().nonnegative(),
    load: ProviderLoad,
  })
  .strict();
export type Heartbeat = z.infer<typeof Heartbeat>;

export function encodeGossip(message: ProvidersTopicMessage | Heartbeat): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message));
}

export function decodeProvidersMessage(data: Uint8Array): ProvidersTopicMessage {
  return decode(ProvidersTopicMessage, data, 'providers message');
}

export function decodeHeartbeat(data: Uint8Array): Heartbeat {
  return decode(Heartbeat, data, 'heartbeat');
}

function decode<T>(schema: z.ZodType<T>, data: Uint8Array, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (cause) {
    throw new MalformedGossipError(`the ${what} is not UTF-8 JSON`, { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new MalformedGossipError(`the ${what} is malformed: ${parsed.error.issues[0]?.message ?? 'unknown'}`, { cause: parsed.error });
  return parsed.data;
}

/** A provider's notice that it is leaving: signed by its Nostr key, naming its peer id. */
export function createLeaving(key: NodeKey, peerId: string, now = Date.now()): NostrEvent {
  return signEnvelope(key, { kind: EVENT_KIND_PROVIDER_LEAVING, tags: [['peer', peerId]], content: '' }, Math.floor(now / 1000));
}

export interface VerifyLeavingParameters {
  /** The Nostr key and peer id of the record it withdraws. */
  pubkey: string;
  peerId: string;
  /** Seconds: a notice older than the record it would withdraw is a replay. */
  notBefore: number;
  now?: number;
}

export function verifyLeaving(event: NostrEvent, { pubkey, peerId, notBefore, now = Date.now() }: VerifyLeavingParameters): void {
  try {
    verifyEnvelope(event, { kind: EVENT_KIND_PROVIDER_LEAVING, pubkey });
  } catch (cause) {
    throw new RecordSignatureError(`leaving notice refused: ${(cause as Error).message}`, { cause });
  }
  if (tagValue(event, 'peer') !== peerId) throw new PeerBindingError(`leaving notice names peer ${tagValue(event, 'peer') ?? '(none)'}, not ${peerId}`);
  const createdMs = event.created_at * 1000;
  if (event.created_at < notBefore || createdMs < now - MAX_LEAVING_AGE_MS || createdMs > now + MAX_CLOCK_SKEW_MS) {
    throw new RecordExpiredError(`leaving notice of peer ${peerId} is stale or from the future`);
  }
}
