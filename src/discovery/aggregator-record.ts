// An aggregator's record: where clients reach it, the fee it takes, the models its providers serve now and its
// load, signed by its Nostr key and bound to its libp2p peer id like a provider's record. Clients trust nothing in
// it until verifyAggregatorRecord has passed.
import { z } from 'zod';
import { signEnvelope, tagValue, verifyEnvelope, type NodeKey } from '../identity/index.js';
import { HexPublicKey, NostrEvent } from '../protocol/index.js';
import {
  AGGREGATOR_RECORD_D_TAG,
  AGGREGATOR_RECORD_VERSION,
  EVENT_KIND_AGGREGATOR_RECORD,
  MAX_AGGREGATOR_RECORD_BYTES,
  MAX_CLOCK_SKEW_MS,
  MAX_RECORD_TTL_MS,
} from './constants.js';
import { MalformedRecordError, PeerIdMismatchError, RecordExpiredError, RecordSignatureError } from './errors.js';
import { verifyPeerBinding } from './peer-binding.js';
import { SoftwareVersions } from './provider-record.js';

export const AggregatorLoad = z
  .object({
    /** Providers connected to it now. */
    providers: z.number().int().nonnegative(),
    /** Jobs it relays now. */
    activeJobs: z.number().int().nonnegative(),
  })
  .strict();
export type AggregatorLoad = z.infer<typeof AggregatorLoad>;

export const AggregatorRecord = z
  .object({
    v: z.literal(AGGREGATOR_RECORD_VERSION),
    pubkey: HexPublicKey,
    peerId: z.string().min(1).max(128),
    /** The kind-30951 event binding pubkey and peerId to each other. */
    binding: NostrEvent,
    /** The WebSocket URL where clients open job sessions. */
    endpoint: z.string().max(2048).regex(/^wss?:\/\/[^\s]+$/, 'a ws:// or wss:// URL'),
    /** What it keeps of each paid job, in basis points of the provider's price (payments.feeBps; 0 without payments). */
    feeBps: z.number().int().min(0).max(5000),
    /** Models some provider connected to it serves now. */
    models: z.array(z.string().min(1).max(256)).max(512),
    load: AggregatorLoad,
    software: SoftwareVersions,
    /** The job protocol version the endpoint speaks. */
    protocolVersion: z.number().int().positive(),
    /** Unix milliseconds. */
    issuedAt: z.number().int().nonnegative(),
    expiresAt: z.number().int().positive(),
  })
  .strict();
export type AggregatorRecord = z.infer<typeof AggregatorRecord>;

/** What the aggregator decides; identity, binding and times are added when signing. */
export type AggregatorRecordInput = Omit<z.input<typeof AggregatorRecord>, 'v' | 'pubkey' | 'peerId' | 'binding' | 'issuedAt' | 'expiresAt'>;

/** On infernet/aggregators/1: an aggregator's signed record, each time it is re-signed. */
export const AggregatorsTopicMessage = z.object({ v: z.literal(1), type: z.literal('record'), event: NostrEvent }).strict();
export type AggregatorsTopicMessage = z.infer<typeof AggregatorsTopicMessage>;

export interface SignedAggregatorRecord {
  record: AggregatorRecord;
  /** The signed event: what travels on the wire. */
  event: NostrEvent;
}

export interface CreateAggregatorRecordParameters {
  key: NodeKey;
  peerId: string;
  binding: NostrEvent;
  input: AggregatorRecordInput;
  ttlMs: number;
  now?: number;
}

export function createAggregatorRecord({ key, peerId, binding, input, ttlMs, now = Date.now() }: CreateAggregatorRecordParameters): SignedAggregatorRecord {
  if (ttlMs <= 0 || ttlMs > MAX_RECORD_TTL_MS) throw new MalformedRecordError(`record TTL ${ttlMs} ms is outside (0, ${MAX_RECORD_TTL_MS}]`);
  const parsed = AggregatorRecord.safeParse({ ...input, v: AGGREGATOR_RECORD_VERSION, pubkey: key.publicKey, peerId, binding, issuedAt: now, expiresAt: now + ttlMs });
  if (!parsed.success) throw new MalformedRecordError(`cannot sign the aggregator record: ${describeIssues(parsed.error)}`, { cause: parsed.error });
  const record = parsed.data;
  const content = JSON.stringify(record);
  if (content.length > MAX_AGGREGATOR_RECORD_BYTES) throw new MalformedRecordError(`aggregator record of ${content.length} bytes is over the ${MAX_AGGREGATOR_RECORD_BYTES}-byte limit`);
  const event = signEnvelope(
    key,
    {
      kind: EVENT_KIND_AGGREGATOR_RECORD,
      tags: [
        ['d', AGGREGATOR_RECORD_D_TAG],
        ['peer', peerId],
        ['expiration', String(Math.ceil(record.expiresAt / 1000))],
      ],
      content,
    },
    Math.floor(now / 1000),
  );
  return { record, event };
}

export interface VerifyAggregatorRecordOptions {
  now?: number;
  /** The libp2p peer that delivered the record (the stream's remote peer, or gossip's signed sender). */
  expectedPeerId?: string;
}

/**
 * Checks everything the record claims: size, shape, the Nostr signature, the binding of key and peer id, who
 * delivered it, and its validity window. Throws a named error for the first failure.
 */
export async function verifyAggregatorRecord(event: unknown, options: VerifyAggregatorRecordOptions = {}): Promise<SignedAggregatorRecord> {
  const now = options.now ?? Date.now();
  const envelope = NostrEvent.safeParse(event);
  if (!envelope.success) throw new MalformedRecordError(`not a signed event: ${describeIssues(envelope.error)}`, { cause: envelope.error });
  if (envelope.data.content.length > MAX_AGGREGATOR_RECORD_BYTES) {
    throw new MalformedRecordError(`aggregator record of ${envelope.data.content.length} bytes is over the ${MAX_AGGREGATOR_RECORD_BYTES}-byte limit`);
  }
  try {
    verifyEnvelope(envelope.data, { kind: EVENT_KIND_AGGREGATOR_RECORD, tags: { d: AGGREGATOR_RECORD_D_TAG } });
  } catch (cause) {
    throw new RecordSignatureError(`aggregator record refused: ${(cause as Error).message}`, { cause });
  }
  let content: unknown;
  try {
    content = JSON.parse(envelope.data.content);
  } catch (cause) {
    throw new MalformedRecordError('the record content is not JSON', { cause });
  }
  const parsed = AggregatorRecord.safeParse(content);
  if (!parsed.success) throw new MalformedRecordError(`the aggregator record is malformed: ${describeIssues(parsed.error)}`, { cause: parsed.error });
  const record = parsed.data;
  if (record.pubkey !== envelope.data.pubkey) throw new RecordSignatureError(`record for key ${record.pubkey.slice(0, 12)} signed by ${envelope.data.pubkey.slice(0, 12)}`);
  if (tagValue(envelope.data, 'peer') !== record.peerId) throw new MalformedRecordError('the event peer tag and the record peerId differ');
  await verifyPeerBinding({ binding: record.binding, pubkey: record.pubkey, peerId: record.peerId });
  if (options.expectedPeerId !== undefined && options.expectedPeerId !== record.peerId) {
    throw new PeerIdMismatchError(`aggregator record of peer ${record.peerId} delivered by peer ${options.expectedPeerId}`);
  }
  if (record.expiresAt <= record.issuedAt || record.expiresAt - record.issuedAt > MAX_RECORD_TTL_MS) {
    throw new MalformedRecordError(`record validity ${record.expiresAt - record.issuedAt} ms is outside (0, ${MAX_RECORD_TTL_MS}]`);
  }
  if (record.expiresAt <= now) throw new RecordExpiredError(`aggregator record of peer ${record.peerId} expired ${now - record.expiresAt} ms ago`);
  if (record.issuedAt > now + MAX_CLOCK_SKEW_MS) throw new RecordExpiredError(`aggregator record of peer ${record.peerId} is issued ${record.issuedAt - now} ms in the future`);
  return { record, event: envelope.data };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
