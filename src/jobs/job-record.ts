import type { ModelRef, Price, VerificationPolicy } from '../protocol/index.js';
import type { JobState } from './state-machine.js';
import type { ProcessIdentity } from '../processes/index.js';

/** Which side of a job this node was on. One job id can appear once per role on an all-in-one node. */
export type JobRole = 'client' | 'aggregator' | 'provider';

export interface JobFailure {
  code: string;
  message: string;
}

/** What a node remembers about a job. Prompts are not stored: only what the node dashboards show. */
export interface JobRecord {
  jobId: string;
  role: JobRole;
  state: JobState;
  model: string;
  /** Hex public key of the client that signed the job spec. */
  client?: string;
  /** Hex public key of the provider that ran (or is running) the job. */
  provider?: string;
  /** Hex public key of the aggregator that routed it. */
  aggregator?: string;
  /** Generated tokens so far (final once completed). */
  tokens?: number;
  /** The output text; kept by the client role only, as it streams (the text so far of a job that ended mid-stream). */
  output?: string;
  /**
   * The ids of the tokens `output` was streamed as, in order; client role only. With the text, what a continuation
   * of the job starts from (a replayed prompt), kept as they arrive (src/client/client-job-record.ts).
   */
  tokenIds?: number[];
  /** The id (hash) of the signed job spec a provider accepted, written before it runs; provider role only. */
  specId?: string;
  /** A client job: each aggregator it went to, in order, and how that went; what ranks aggregators next time. */
  aggregatorAttempts?: AggregatorAttempt[];
  /** sha256 hex of the UTF-8 output, as signed by the provider. */
  outputHash?: string;
  error?: JobFailure;
  /** An aggregator's relayed run: under a verification policy what its client's verdict is judged against, and when; under none its unchecked verdict. */
  verification?: JobVerification;
  /**
   * A client job: the process that runs it (`infernet submit`, or the daemon for its APIs). A job not finished whose
   * process is gone ended with it (its session closed, so the aggregator cancelled it): see orphaned-client-jobs.ts.
   */
  owner?: ProcessIdentity;
  /** An aggregator's client job under a verification policy: what its checks may be (src/aggregator/checked-jobs.ts). */
  checks?: JobChecks;
  createdAt: number;
  updatedAt: number;
}

/** One aggregator a client job went to (src/client/aggregator-experience.ts). */
export interface AggregatorAttempt {
  endpoint: string;
  /** Hex public key: the session's authenticated peer, or the signed discovery record's for one never reached. */
  pubkey?: string;
  /**
   * completed: the job finished there; lost: its session closed mid-job; unreachable: it could not be dialled;
   * refused: the job failed there for its own reasons (no provider, payment, deadline) or the client cancelled it,
   * which says nothing of the aggregator.
   */
  outcome: 'completed' | 'lost' | 'unreachable' | 'refused';
}

/**
 * What an aggregator keeps of a client job under a verification policy so that a check (job.request.checkOf) is
 * admitted only as the threat model allows (attack 3), across restarts.
 */
export interface JobChecks {
  /** Hex public key of the client: only it may check the job. */
  client: string;
  model: ModelRef;
  policy: VerificationPolicy;
  /** Every provider matched for the job or one of its checks, failovers included: never drawn for a check. */
  providers: string[];
  /** Checks admitted so far. */
  admitted: number;
  /** The client cancelled a check before its result: the job's verdict may then blame nobody. */
  withdrawn: boolean;
}

/**
 * What an aggregator keeps of a relayed run while it waits for the client's job.verdict (state verifying), beside
 * the record's provider, client, model, outputHash and tokens: persisted, so a restart neither pays the run before
 * its verdict nor forgets it (src/verification/pending-verification.ts).
 */
export interface JobVerification {
  policy: VerificationPolicy;
  /** Id of the provider's signed result event. */
  resultEventId: string;
  /** What the provider asked, when known. */
  price?: Price;
  /** Unix ms: a run without a verdict by then is settled unchecked (and paid). */
  verdictDeadline: number;
  /** Set when the run left verifying: the verdict it was settled on. */
  verdict?: 'verified' | 'failed' | 'unchecked' | 'inconclusive';
  /** Set with the verdict: the client's job (the primary run) whose verdict named this run. */
  verdictJobId?: string;
  /** A run paid by hold invoice: whom to tell the verdict, and the preimage a verdict that pays reveals. */
  holdInvoice?: HeldInvoice;
  /** The hash of the run's fingerprints from its signed result: what a blaming verdict's fingerprints must hash to. */
  fingerprintHash?: string;
  /** For a check: the client's job it checks (its provider was drawn at random by this aggregator). */
  checkOf?: string;
}

/**
 * What an aggregator keeps of a run paid by hold invoice until its provider is told the verdict (job.outcome): the
 * preimage is the client's (src/payments/lightning/run-preimage.ts), revealed only by a verdict that pays.
 */
export interface HeldInvoice {
  /** Hex public key of the provider whose invoice it is. */
  provider: string;
  paymentHash: string;
  preimage: string;
  /** Set once the provider was sent the verdict. */
  told?: boolean;
}

export type NewJob = Omit<JobRecord, 'state' | 'createdAt' | 'updatedAt'> & { state?: JobState };

/** Fields a transition may update beside the state. */
export type JobPatch = Partial<Omit<JobRecord, 'jobId' | 'role' | 'state' | 'createdAt' | 'updatedAt'>>;

export interface JobEvent {
  jobId: string;
  role: JobRole;
  from: JobState | null;
  to: JobState;
  at: number;
  reason?: string;
}

/** A job event as the job event feed delivers it: `seq` is its place in the order this node's store wrote events. */
export interface SequencedJobEvent extends JobEvent {
  seq: number;
}
