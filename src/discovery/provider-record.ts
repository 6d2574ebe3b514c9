// A provider's capability record: what it runs, what it costs, where its job endpoint is, signed by its Nostr
// key as a replaceable event and bound to its libp2p peer id. Aggregators trust nothing in it until
// verifyProviderRecord has passed.
import { z } from 'zod';
import { signEnvelope, tagValue, verifyEnvelope, type NodeKey } from '../identity/index.js';
import { ContentId, HexPublicKey, JobKind, ModelOffer, NostrEvent, Price } from '../protocol/index.js';
import {
  EVENT_KIND_PROVIDER_RECORD,
  MAX_CLOCK_SKEW_MS,
  MAX_RECORD_BYTES,
  MAX_RECORD_TTL_MS,
  PROVIDER_RECORD_D_TAG,
  PROVIDER_RECORD_VERSION,
} from './constants.js';
import { MalformedRecordError, PeerIdMismatchError, RecordExpiredError, RecordSignatureError } from './errors.js';
import { HardwareSummary } from './hardware-summary.js';
import { verifyPeerBinding } from './peer-binding.js';

export const ModelServed = ModelOffer.extend({
  name: z.string().min(1).max(256),
  /** Where the weights can be fetched by content address, when the provider seeds them. */
  cid: ContentId.optional(),
}).strict();
export type ModelServed = z.infer<typeof ModelServed>;

export const ProviderLoad = z
  .object({ activeJobs: z.number().int().nonnegative(), slots: z.number().int().nonnegative() })
  .strict();
export type ProviderLoad = z.infer<typeof ProviderLoad>;

/** Names and versions of what runs the jobs, e.g. { infernet: "0.1.0", engine: "llama.cpp b6000" }. */
export const SoftwareVersions = z
  .record(z.string().min(1).max(64), z.string().max(128))
  .refine((versions) => Object.keys(versions).length <= 16, 'at most 16 entries');

/** A WebSocket URL, or libp2p://<peer id> for a provider reached over libp2p (relayed or hole-punched, see src/nat). */
export const JobEndpoint = z.string().max(2048).regex(/^(wss?:\/\/[^\s]+|libp2p:\/\/\w+)$/, 'a ws:// or wss:// URL, or libp2p://<peer id>');

/**
 * A provider that runs llama.cpp RPC stages for heads splitting a model (src/distributed): where its tunnel
 * listener is and what one stage gets. `heads` lists the heads it answers; absent, any head may open a stage (the
 * stage service's limits on stages, time and bytes still apply).
 */
export const StageOffer = z
  .object({
    /** The tunnel listener's ws:// URL, or libp2p://<peer id> (the record's job endpoint) behind NAT. */
    endpoint: JobEndpoint,
    threads: z.number().int().min(1).max(256),
    memoryBytes: z.number().int().nonnegative(),
    maxStages: z.number().int().min(1).max(64),
    sandbox: z.enum(['docker', 'none']),
    heads: z.array(HexPublicKey).max(64).optional(),
  })
  .strict();
export type StageOffer = z.infer<typeof StageOffer>;

export const ProviderRecord = z
  .object({
    v: z.literal(PROVIDER_RECORD_VERSION),
    pubkey: HexPublicKey,
    peerId: z.string().min(1).max(128),
    /** The kind-30951 event binding pubkey and peerId to each other. */
    binding: NostrEvent,
    hardware: HardwareSummary,
    models: z.array(ModelServed).max(1024),
    price: Price.optional(),
    region: z.string().max(64).optional(),
    software: SoftwareVersions,
    /** The job protocol version the endpoint speaks. */
    protocolVersion: z.number().int().positive(),
    /** The WebSocket URL where this provider takes jobs. */
    endpoint: JobEndpoint,
    /** Multiaddrs to dial the provider's libp2p endpoint at; relayed ones (…/p2p-circuit) when it has no public one. */
    addresses: z.array(z.string().startsWith('/').max(512)).max(32).optional(),
    load: ProviderLoad,
    /** RPC stages this provider runs for other providers' heads. */
    stages: StageOffer.optional(),
    /**
     * The kinds of job it runs (src/protocol JobKind); absent: generate only. Announced only beside generate's
     * others (embed): a record of a generate-only provider stays readable by aggregators that predate the field.
     */
    jobKinds: z.array(JobKind).min(1).max(8).optional(),
    /** Unix milliseconds. */
    issuedAt: z.number().int().nonnegative(),
    expiresAt: z.number().int().positive(),
  })
  .strict();
export type ProviderRecord = z.infer<typeof ProviderRecord>;

/** What the provider decides; identity, binding and times are added when signing. */
export type ProviderRecordInput = Omit<z.input<typeof ProviderRecord>, 'v' | 'pubkey' | 'peerId' | 'binding' | 'issuedAt' | 'expiresAt'>;

export interface SignedProviderRecord {
  record: ProviderRecord;
  /** The signed event: what travels on the wire. */
  event: NostrEvent;
}

export interface CreateProviderRecordParameters {
  key: NodeKey;
  peerId: string;
  binding: NostrEvent;
  input: ProviderRecordInput;
  ttlMs: number;
  now?: number;
}

export function createProviderRecord({ key, peerId, binding, input, ttlMs, now = Date.now() }: CreateProviderRecordParameters): SignedProviderRecord {
  const parsed = ProviderRecord.safeParse({ ...input, v: PROVIDER_RECORD_VERSION, pubkey: key.publicKey, peerId, binding, issuedAt: now, expiresAt: now + ttlMs });
  if (!parsed.success) throw new MalformedRecordError(`cannot sign the provider record: ${describeIssues(parsed.error)}`, { cause: parsed.error });
  const record = parsed.data;
  if (ttlMs <= 0 || ttlMs > MAX_RECORD_TTL_MS) throw new MalformedRecordError(`record TTL ${ttlMs} ms is outside (0, ${MAX_RECORD_TTL_MS}]`);
  const event = signEnvelope(
    key,
    {
      kind: EVENT_KIND_PROVIDER_RECORD,
      tags: [
        ['d', PROVIDER_RECORD_D_TAG],
        ['peer', peerId],
        // NIP-40, so a relay holding the record drops it when it lapses.
        ['expiration', String(Math.ceil(record.expiresAt / 1000))],
      ],
      content: JSON.stringify(record),
    },
    Math.floor(now / 1000),
  );
  return { record, event };
}

export interface VerifyProviderRecordOptions {
  now?: number;
  /** The libp2p peer that delivered the record, when it came over a connection or signed gossip. */
  expectedPeerId?: string;
}

/**
 * Checks everything a record claims: shape, the Nostr signature, that the signer's key and the peer id are bound
 * to each other, who delivered it, and its validity window. Throws a named error for the first failure.
 */
export async function verifyProviderRecord(event: unknown, options: VerifyProviderRecordOptions = {}): Promise<SignedProviderRecord> {
  const now = options.now ?? Date.now();
  const envelope = NostrEvent.safeParse(event);
  if (!envelope.success) throw new MalformedRecordError(`not a signed event: ${describeIssues(envelope.error)}`, { cause: envelope.error });
  if (envelope.data.content.length > MAX_RECORD_BYTES) throw new MalformedRecordError(`record of ${envelope.data.content.length} bytes is over the ${MAX_RECORD_BYTES}-byte limit`);
  try {
    verifyEnvelope(envelope.data, { kind: EVENT_KIND_PROVIDER_RECORD, tags: { d: PROVIDER_RECORD_D_TAG } });
  } catch (cause) {
    throw new RecordSignatureError(`provider record refused: ${(cause as Error).message}`, { cause });
  }
  let content: unknown;
  try {
    content = JSON.parse(envelope.data.content);
  } catch (cause) {
    throw new MalformedRecordError('the record content is not JSON', { cause });
  }
  const parsed = ProviderRecord.safeParse(content);
  if (!parsed.success) throw new MalformedRecordError(`the record is malformed: ${describeIssues(parsed.error)}`, { cause: parsed.error });
  const record = parsed.data;
  if (record.pubkey !== envelope.data.pubkey) {
    throw new RecordSignatureError(`record for key ${record.pubkey.slice(0, 12)} signed by ${envelope.data.pubkey.slice(0, 12)}`);
  }
  if (tagValue(envelope.data, 'peer') !== record.peerId) throw new MalformedRecordError('the event peer tag and the record peerId differ');
  await verifyPeerBinding({ binding: record.binding, pubkey: record.pubkey, peerId: record.peerId });
  if (options.expectedPeerId !== undefined && options.expectedPeerId !== record.peerId) {
    throw new PeerIdMismatchError(`record of peer ${record.peerId} delivered by peer ${options.expectedPeerId}`);
  }
  if (record.expiresAt <= record.issuedAt || record.expiresAt - record.issuedAt > MAX_RECORD_TTL_MS) {
    throw new MalformedRecordError(`record validity ${record.expiresAt - record.issuedAt} ms is outside (0, ${MAX_RECORD_TTL_MS}]`);
  }
  if (record.expiresAt <= now) throw new RecordExpiredError(`record of peer ${record.peerId} expired ${now - record.expiresAt} ms ago`);
  if (record.issuedAt > now + MAX_CLOCK_SKEW_MS) throw new RecordExpiredError(`record of peer ${record.peerId} is issued ${record.issuedAt - now} ms in the future`);
  return { record, event: envelope.data };
}

/** Whether a record offers RPC stages to this head. */
export function offersStagesTo(record: Pick<ProviderRecord, 'stages'>, head: string): boolean {
  return record.stages !== undefined && (record.stages.heads === undefined || record.stages.heads.includes(head));
}

/**
 * Whether a record offers the named model; when the job names a sha256, only that exact file (an offer with no hash
 * proves nothing about its file and is not matched).
 */
export function servesModel(record: Pick<ProviderRecord, 'models'>, model: string, sha256?: string): boolean {
  return record.models.some((offer) => offer.name === model && (!sha256 || offer.sha256 === sha256));
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
