// The PocketBase collections created by backend/migrations, as names and record types. The Go migrations are
// the schema; these types describe what the REST API returns for them, so a change there is made here too.
import type { AggregatorAttempt, JobChecks, JobFailure, JobRole, JobVerification } from '../jobs/job-record.js';
import type { ProcessIdentity } from '../processes/index.js';
import type { JobState } from '../jobs/state-machine.js';

export const COLLECTIONS = {
  jobs: 'jobs',
  jobEvents: 'job_events',
  providers: 'providers',
  reputationEvents: 'reputation_events',
  payments: 'payments',
  content: 'content',
  settings: 'settings',
  logs: 'logs',
  /** Batch jobs (src/batch): the batch, its shards, its results in chunks. */
  batches: 'batches',
  batchShards: 'batch_shards',
  batchResults: 'batch_results',
  /** Each job event feed reader's place (src/jobs/job-event-feed.ts). */
  jobFeedCursors: 'job_feed_cursors',
  /** Apps (dashboards, mobile clients) authenticate as records of this auth collection. */
  apps: 'users',
  superusers: '_superusers',
} as const;

/** Fields PocketBase adds to every record it returns. */
export interface PocketBaseRecord {
  id: string;
  collectionId: string;
  collectionName: string;
}

/** PocketBase has no null text or number: an unset text is '' and an unset number is 0. */
export interface JobRow extends PocketBaseRecord {
  jobId: string;
  role: JobRole;
  state: JobState;
  model: string;
  client: string;
  provider: string;
  aggregator: string;
  tokens: number;
  output: string;
  outputHash: string;
  error: JobFailure | null;
  /** Added by migration 1751000006: null unless the job is a run an aggregator relayed (its verdict, policy none included). */
  verification: JobVerification | null;
  /** Added by migration 1751000007: the process that runs a client job, null for the other roles. */
  owner: ProcessIdentity | null;
  /** Added by migration 1751000009: null unless the job is an aggregator's client job under a verification policy. */
  checks: JobChecks | null;
  /** Added by migration 1751000010: a client job's streamed token ids, null for the other roles. */
  tokenIds: number[] | null;
  /** Added by migration 1751000011: the signed spec a provider job accepted, '' for the other roles. */
  specId: string;
  /** Added by migration 1751000012: a client job's aggregators and how each went, null for the other roles. */
  aggregatorAttempts: AggregatorAttempt[] | null;
  createdAt: number;
  updatedAt: number;
}

export interface JobEventRow extends PocketBaseRecord {
  jobId: string;
  role: JobRole;
  /** '' for the event that created the job. */
  from: JobState | '';
  to: JobState;
  at: number;
  reason: string;
  /** Added by migration 1751000008: the event's place in the job event feed, numbered by the backend. */
  seq: number;
}

/** A reader's place in the job event feed (migration 1751000008). */
export interface JobFeedCursorRow extends PocketBaseRecord {
  reader: string;
  seq: number;
}

export interface ProviderRow extends PocketBaseRecord {
  /** Hex public key: the provider's identity on the network. */
  pubkey: string;
  name: string;
  addresses: string[] | null;
  models: unknown[] | null;
  hardware: Record<string, unknown> | null;
  pricing: Record<string, unknown> | null;
  reputation: number;
  online: boolean;
  firstSeenAt: number;
  lastSeenAt: number;
}

export interface ReputationEventRow extends PocketBaseRecord {
  provider: string;
  jobId: string;
  kind: string;
  delta: number;
  reason: string;
  signedBy: string;
  at: number;
  /** Added by migration 1751000003: the signed kind-7950 event itself and what scoring reads from it. */
  eventId: string;
  event: unknown;
  value: number;
  currency: string;
  policy: string;
  model: string;
  /** Where the node heard it: local, relay or gossip. */
  via: string;
}

export type PaymentDirection = 'incoming' | 'outgoing';
export type PaymentState = 'pending' | 'held' | 'released' | 'refunded' | 'failed';

export interface PaymentRow extends PocketBaseRecord {
  jobId: string;
  role: JobRole;
  direction: PaymentDirection;
  rail: string;
  amount: number;
  unit: string;
  state: PaymentState;
  reference: string;
  counterparty: string;
  details: Record<string, unknown> | null;
  /** What settlement decided, written before it acts (migration 1751000004); '' until decided. */
  decision: 'release' | 'refund' | '';
  decidedAt: number;
  createdAt: number;
  updatedAt: number;
}

export interface ContentRow extends PocketBaseRecord {
  /** sha256 hex of the bytes. */
  hash: string;
  kind: string;
  name: string;
  mime: string;
  size: number;
  pinned: boolean;
  sources: unknown[] | null;
  createdAt: number;
}

export interface SettingRow extends PocketBaseRecord {
  key: string;
  value: unknown;
  updatedAt: number;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface LogRow extends PocketBaseRecord {
  level: LogLevel;
  source: string;
  message: string;
  jobId: string;
  data: unknown;
  at: number;
}

/** What a write sends: the row without the fields PocketBase assigns. */
export type RowBody<Row extends PocketBaseRecord> = Omit<Row, keyof PocketBaseRecord>;

export type BatchRowState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export type BatchShardRowState = 'pending' | 'running' | 'completed' | 'failed' | 'split';

export interface BatchRow extends PocketBaseRecord {
  batchId: string;
  model: string;
  state: BatchRowState;
  total: number;
  completed: number;
  failed: number;
  /** The parsed input lines, in input order. */
  requests: unknown[] | null;
  options: Record<string, unknown> | null;
  inputName: string;
  error: { code: string; message: string } | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number;
  /** When a cancel was asked for (ms); 0 while none was. Written by the cancel, never by the runner. */
  cancelRequestedAt: number;
  /** Requests a cancel ended unanswered (its batch_cancelled lines), written when the batch ends cancelled. */
  cancelled: number;
}

export interface BatchShardRow extends PocketBaseRecord {
  batchId: string;
  shardId: string;
  indices: number[] | null;
  provider: string;
  state: BatchShardRowState;
  attempt: number;
  done: number;
  reason: string;
  updatedAt: number;
}

export interface BatchResultRow extends PocketBaseRecord {
  batchId: string;
  /** Output lines of requests that finished, each with its input line index. */
  results: { index: number; line: string }[] | null;
  createdAt: number;
}
