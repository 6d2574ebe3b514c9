// The jobs under a verification policy that this aggregator matched, and their checks. A check
// (job.request.checkOf) is admitted only for a job of the same client and model, a bounded number of times, and
// never to a provider that already ran the job: the aggregator draws each check's provider itself, so a client
// cannot send its checks to providers of its own choosing (threat model, attack 3). A check the client cancels
// before its result is remembered: a client that throws away checks until it likes one may blame nobody.
import type { FrameOf, ModelRef, VerificationPolicy } from '../protocol/index.js';

/** Jobs remembered at once; beyond it the oldest is forgotten (its checks are then refused). */
const MAX_CHECKED_JOBS = 10_000;

interface CheckedJob {
  client: string;
  model: ModelRef;
  policy: VerificationPolicy;
  /** Every provider matched for the job or one of its checks, failovers included. */
  providers: Set<string>;
  checks: number;
  withdrawn: boolean;
}

export type CheckAdmission = { admitted: true; exclude: string[] } | { admitted: false; code: 'job_not_found' | 'invalid_frame' | 'no_provider'; message: string };

/** Checks a job may have: the client's planned checks and one tie-break (redundant(k): k-1 + 1; sampled: 1 + 1). */
export function maxChecksOf(policy: VerificationPolicy): number {
  if (policy.kind === 'redundant') return policy.k;
  if (policy.kind === 'sampled') return 2;
  return 0;
}

export class CheckedJobs {
  private readonly jobs = new Map<string, CheckedJob>();

  /** A job under a policy other than none was matched to `provider`. */
  open(jobId: string, client: string, request: FrameOf<'job.request'>, provider: string): void {
    const policy = request.verification ?? { kind: 'none' };
    if (policy.kind === 'none' || request.checkOf) return;
    this.jobs.set(jobId, { client, model: request.model, policy, providers: new Set([provider]), checks: 0, withdrawn: false });
    if (this.jobs.size > MAX_CHECKED_JOBS) this.jobs.delete(this.jobs.keys().next().value!);
  }

  /** Whether `request` may check the job it names; the providers its draw must leave out when it may. */
  admitCheck(client: string, request: FrameOf<'job.request'>): CheckAdmission {
    const job = request.checkOf ? this.jobs.get(request.checkOf) : undefined;
    if (!job || job.client !== client) return { admitted: false, code: 'job_not_found', message: `no job ${request.checkOf} of yours under a verification policy to check here` };
    if (request.provider) return { admitted: false, code: 'invalid_frame', message: "a check's provider is drawn by the aggregator: name none" };
    if (!sameModel(job.model, request.model)) return { admitted: false, code: 'invalid_frame', message: `a check of ${request.checkOf} must run its model ${job.model.name}` };
    // Under another policy (none) the check would settle at once, outside the verdict: a check the client could
    // then leave out of it, as if it had never run.
    if (JSON.stringify(request.verification ?? { kind: 'none' }) !== JSON.stringify(job.policy)) return { admitted: false, code: 'invalid_frame', message: `a check of ${request.checkOf} runs under its policy` };
    if (job.checks >= maxChecksOf(job.policy)) return { admitted: false, code: 'no_provider', message: `job ${request.checkOf} has had its ${maxChecksOf(job.policy)} checks` };
    job.checks++;
    // The client's own exclude list is ignored: with it, a client could leave every honest provider out of the draw.
    return { admitted: true, exclude: [...job.providers] };
  }

  /** A provider matched for the job or one of its checks (first match or failover). */
  addProvider(request: FrameOf<'job.request'>, provider: string): void {
    this.jobs.get(request.checkOf ?? request.jobId)?.providers.add(provider);
  }

  /** The providers of the job and its checks so far. */
  providersOf(request: FrameOf<'job.request'>): string[] {
    return [...(this.jobs.get(request.checkOf ?? request.jobId)?.providers ?? [])];
  }

  /** The client cancelled a check before its result. */
  withdraw(request: FrameOf<'job.request'>): void {
    const job = request.checkOf ? this.jobs.get(request.checkOf) : undefined;
    if (job) job.withdrawn = true;
  }

  withdrawn(jobId: string): boolean {
    return this.jobs.get(jobId)?.withdrawn ?? false;
  }
}

function sameModel(a: ModelRef, b: ModelRef): boolean {
  return a.name === b.name && a.sha256 === b.sha256 && a.cid === b.cid;
}
