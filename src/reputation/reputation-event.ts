// The signed Nostr event that records one job outcome: who ran it (p), which run (job, e), what was found
// (outcome), under which policy, and what the job was worth (value). Signed by the aggregator or client that
// observed it, so that any node can weigh it by that rater's own standing.
import { z } from 'zod';
import { signEnvelope, verifyEnvelope, SignatureMismatchError, type NodeKey } from '../identity/index.js';
import { HexPublicKey, JobId, NostrEvent } from '../protocol/index.js';
import { InfernetError } from '../errors/index.js';

/** A regular (stored, not replaceable) event kind: every outcome is kept. */
export const EVENT_KIND_JOB_OUTCOME = 7950;
/** The `t` tag every outcome carries, so relays and clients can filter on it. */
export const JOB_OUTCOME_TOPIC_TAG = 'infernet-reputation';
/** How far in the future an outcome's created_at may lie (clocks drift). */
export const MAX_OUTCOME_CLOCK_SKEW_S = 120;
/** Outcome events per message on the gossip reputation topic. */
export const MAX_EVENTS_PER_GOSSIP = 50;
/** What one outcome event may weigh. */
export const MAX_OUTCOME_EVENT_BYTES = 8 * 1024;

export const JobOutcomeKind = z.enum(['verified', 'failed', 'completed', 'inconclusive']);
export type JobOutcomeKind = z.infer<typeof JobOutcomeKind>;

const DecimalAmount = z.string().regex(/^\d{1,18}(\.\d{1,18})?$/);

/** The tags of an outcome event, as a schema: docs/protocol.md is rendered from it. */
export const JobOutcomeTags = z
  .object({
    p: HexPublicKey.describe('the provider the outcome is about'),
    job: JobId.describe('the job id of the run'),
    e: z.string().regex(/^[0-9a-f]{64}$/).describe("id of the provider's signed kind-6950 result"),
    outcome: JobOutcomeKind.describe('verified: a second execution agreed; failed: outvoted by the settling execution; completed: not checked; inconclusive: every execution disagreed'),
    policy: z.string().regex(/^(none|redundant:\d+|sampled:[0-9.]+)$/).describe('the verification policy of the job'),
    model: z.string().min(1).max(256),
    output_hash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    value: z.tuple([DecimalAmount, z.string().min(1).max(16)]).optional().describe('["value", amount, currency]: what the job paid'),
    t: z.literal(JOB_OUTCOME_TOPIC_TAG),
  })
  .describe(`Tags of a kind-${EVENT_KIND_JOB_OUTCOME} job outcome event (each tag is ["name", value...]); content: a short reason or empty.`);
export type JobOutcomeTags = z.infer<typeof JobOutcomeTags>;

export interface JobOutcomeReport {
  provider: string;
  jobId: string;
  resultEventId: string;
  outcome: JobOutcomeKind;
  policy: string;
  model: string;
  outputHash?: string;
  value?: { amount: string; currency: string };
  reason?: string;
}

/** A verified outcome event, flattened for scoring and storage. */
export interface JobRating {
  eventId: string;
  /** Who signed it. */
  rater: string;
  provider: string;
  jobId: string;
  outcome: JobOutcomeKind;
  policy: string;
  model: string;
  /** The job's value in its currency, 0 when unpaid or unknown. */
  value: number;
  currency: string;
  /** Unix milliseconds. */
  createdAt: number;
  reason: string;
  event: NostrEvent;
}

export class ReputationEventRejectedError extends InfernetError {
  override readonly name = 'ReputationEventRejectedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_frame', message, options);
  }
}

export function createJobOutcomeEvent(key: NodeKey, report: JobOutcomeReport, createdAt?: number): NostrEvent {
  const tags: string[][] = [
    ['p', report.provider],
    ['job', report.jobId],
    ['e', report.resultEventId],
    ['outcome', report.outcome],
    ['policy', report.policy],
    ['model', report.model],
    ...(report.outputHash ? [['output_hash', report.outputHash]] : []),
    ...(report.value ? [['value', report.value.amount, report.value.currency]] : []),
    ['t', JOB_OUTCOME_TOPIC_TAG],
  ];
  return signEnvelope(key, { kind: EVENT_KIND_JOB_OUTCOME, tags, content: report.reason ?? '' }, createdAt);
}

/** Verifies id, signature, kind, tags and time; throws ReputationEventRejectedError with the reason. */
export function verifyJobOutcomeEvent(input: unknown, now = Date.now()): JobRating {
  const parsed = NostrEvent.safeParse(input);
  if (!parsed.success) throw new ReputationEventRejectedError(`not a Nostr event: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
  const event = parsed.data;
  if (event.kind !== EVENT_KIND_JOB_OUTCOME) throw new ReputationEventRejectedError(`expected kind ${EVENT_KIND_JOB_OUTCOME}, got ${event.kind}`);
  if (JSON.stringify(event).length > MAX_OUTCOME_EVENT_BYTES) throw new ReputationEventRejectedError('the outcome event is too large');
  try {
    verifyEnvelope(event, { kind: EVENT_KIND_JOB_OUTCOME });
  } catch (error) {
    if (error instanceof SignatureMismatchError) throw new ReputationEventRejectedError(`forged or tampered outcome event: ${error.message}`, { cause: error });
    throw error;
  }
  const tags = JobOutcomeTags.safeParse(tagObject(event.tags));
  if (!tags.success) throw new ReputationEventRejectedError(`outcome event tags are invalid: ${tags.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  if (event.created_at > now / 1000 + MAX_OUTCOME_CLOCK_SKEW_S) throw new ReputationEventRejectedError('the outcome event is dated in the future');
  if (tags.data.p === event.pubkey) throw new ReputationEventRejectedError('a provider cannot rate itself');
  return {
    eventId: event.id,
    rater: event.pubkey,
    provider: tags.data.p,
    jobId: tags.data.job,
    outcome: tags.data.outcome,
    policy: tags.data.policy,
    model: tags.data.model,
    value: tags.data.value ? Number(tags.data.value[0]) : 0,
    currency: tags.data.value?.[1] ?? '',
    createdAt: event.created_at * 1000,
    reason: event.content.slice(0, 512),
    event,
  };
}

/** The first value of each named tag; `value` keeps its two values. Repeated single-value tags are refused. */
function tagObject(tags: string[][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [name, ...values] of tags) {
    if (name === undefined) continue;
    if (name in object) throw new ReputationEventRejectedError(`tag "${name}" appears twice`);
    object[name] = name === 'value' ? values : values[0];
  }
  return object;
}

