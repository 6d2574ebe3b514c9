// The jobs under a verification policy that this aggregator matched, and their checks. A check
// (job.request.checkOf) is admitted only for a job of the same client and model, a bounded number of times, and
// never to a provider that already ran the job: the aggregator draws each check's provider itself, so a client
// cannot send its checks to providers of its own choosing (threat model, attack 3). A check the client cancels
// before its result is remembered: a client that throws away checks until it likes one may blame nobody.
// What is known of a job's checks lives on its aggregator record (JobRecord.checks), written before the answer
// that depends on it: a restarted aggregator neither refuses an honest client's checks nor forgets a withdrawal.
import { isDeepStrictEqual } from 'node:util';
import type { JobChecks, JobStore } from '../jobs/index.js';
import { KeyedQueue } from '../jobs/keyed-queue.js';
import type { FrameOf, ModelRef, VerificationPolicy } from '../protocol/index.js';

export type CheckAdmission = { admitted: true; exclude: string[] } | { admitted: false; code: 'job_not_found' | 'invalid_frame' | 'no_provider'; message: string };

/** Checks a job may have: the client's planned checks and one tie-break (redundant(k): k-1 + 1; sampled: 1 + 1). */
export function maxChecksOf(policy: VerificationPolicy): number {
  if (policy.kind === 'redundant') return policy.k;
  if (policy.kind === 'sampled') return 2;
  return 0;
}

/** What a job's checks may be, from its request and first provider; undefined when it can have none. */
export function checksOfNewJob(client: string, request: FrameOf<'job.request'>, provider: string): JobChecks | undefined {
  const policy = request.verification ?? { kind: 'none' };
  if (policy.kind === 'none' || request.checkOf) return undefined;
  return { client, model: request.model, policy, providers: [provider], admitted: 0, withdrawn: false };
}

/** Whether `request` may check the job whose checks are `checks`, and what they become when it may. */
export function admitCheckOf(checks: JobChecks | undefined, client: string, request: FrameOf<'job.request'>): { admission: CheckAdmission; next?: JobChecks } {
  const refuse = (code: 'job_not_found' | 'invalid_frame' | 'no_provider', message: string) => ({ admission: { admitted: false as const, code, message } });
  if (!checks || checks.client !== client) return refuse('job_not_found', `no job ${request.checkOf} of yours under a verification policy to check here`);
  if (request.provider) return refuse('invalid_frame', "a check's provider is drawn by the aggregator: name none");
  if (!sameModel(checks.model, request.model)) return refuse('invalid_frame', `a check of ${request.checkOf} must run its model ${checks.model.name}`);
  // Under another policy (none) the check would settle at once, outside the verdict: a check the client could
  // then leave out of it, as if it had never run.
  // Compared as values: a policy read back from the store has its keys in another order than the request's.
  if (!isDeepStrictEqual(request.verification ?? { kind: 'none' }, checks.policy)) return refuse('invalid_frame', `a check of ${request.checkOf} runs under its policy`);
  if (checks.admitted >= maxChecksOf(checks.policy)) return refuse('no_provider', `job ${request.checkOf} has had its ${maxChecksOf(checks.policy)} checks`);
  // The client's own exclude list is ignored: with it, a client could leave every honest provider out of the draw.
  return { admission: { admitted: true, exclude: [...checks.providers] }, next: { ...checks, admitted: checks.admitted + 1 } };
}

export class CheckedJobs {
  /** Reads and writes of one job's checks, one after another: two checks racing never both take the last place. */
  private readonly queue = new KeyedQueue();

  constructor(private readonly store: JobStore) {}

  /** A job under a policy other than none was matched to `provider`; its aggregator record exists. */
  async open(jobId: string, client: string, request: FrameOf<'job.request'>, provider: string): Promise<void> {
    const checks = checksOfNewJob(client, request, provider);
    if (checks) await this.queue.run(jobId, () => this.store.update(jobId, 'aggregator', { checks }));
  }

  /** Whether `request` may check the job it names; the providers its draw must leave out when it may. */
  admitCheck(client: string, request: FrameOf<'job.request'>): Promise<CheckAdmission> {
    const jobId = request.checkOf ?? '';
    return this.queue.run(jobId, async () => {
      const { admission, next } = admitCheckOf(await this.checksOf(jobId), client, request);
      if (next) await this.store.update(jobId, 'aggregator', { checks: next });
      return admission;
    });
  }

  /** A provider matched for the job or one of its checks (first match or failover). */
  addProvider(request: FrameOf<'job.request'>, provider: string): Promise<void> {
    return this.change(request.checkOf ?? request.jobId, (checks) => (checks.providers.includes(provider) ? undefined : { ...checks, providers: [...checks.providers, provider] }));
  }

  /** The providers of the job and its checks so far. */
  async providersOf(request: FrameOf<'job.request'>): Promise<string[]> {
    const jobId = request.checkOf ?? request.jobId;
    return this.queue.run(jobId, async () => (await this.checksOf(jobId))?.providers ?? []);
  }

  /** The client cancelled a check before its result. */
  withdraw(request: FrameOf<'job.request'>): Promise<void> {
    if (!request.checkOf) return Promise.resolve();
    return this.change(request.checkOf, (checks) => (checks.withdrawn ? undefined : { ...checks, withdrawn: true }));
  }

  async withdrawn(jobId: string): Promise<boolean> {
    return this.queue.run(jobId, async () => (await this.checksOf(jobId))?.withdrawn ?? false);
  }

  private change(jobId: string, next: (checks: JobChecks) => JobChecks | undefined): Promise<void> {
    return this.queue.run(jobId, async () => {
      const checks = await this.checksOf(jobId);
      const changed = checks && next(checks);
      if (changed) await this.store.update(jobId, 'aggregator', { checks: changed });
    });
  }

  private async checksOf(jobId: string): Promise<JobChecks | undefined> {
    return jobId ? (await this.store.get(jobId, 'aggregator'))?.checks : undefined;
  }
}

function sameModel(a: ModelRef, b: ModelRef): boolean {
  return a.name === b.name && a.sha256 === b.sha256 && a.cid === b.cid;
}
