// The aggregator's side of verification: remembers each run it relayed (from the provider's signed result), takes
// the client's job.verdict once checked against them, and emits one VerificationOutcome per run. Runs under policy
// none are unchecked at once. A run under another policy is persisted in state verifying (pending-verification.ts)
// until its verdict, or until its window closes (unchecked): the move out of verifying is stored before the
// outcome is emitted, and a restarted aggregator reloads the runs still waiting (resumeVerifying).
import type { JobStore } from '../jobs/job-store.js';
import type { JobVerification } from '../jobs/job-record.js';
import type { Logger } from '../log/index.js';
import type { FrameOf, VerificationPolicy } from '../protocol/index.js';
import { checkVerdictAgainstResults, VerdictRejectedError, type WitnessedRun } from './check-verdict.js';
import { DEFAULT_VERDICT_WAIT_MS, jobStateAfterVerdict, pendingVerificationOf, verdictPatchOf, verdictWaitLeft, verifyingPatchOf } from './pending-verification.js';
import type { VerificationListener, VerificationOutcome, VerificationVerdict } from './verification-outcome.js';

export interface VerdictWitnessOptions {
  /** The aggregator's jobs: where runs wait in state verifying, and move out of it. */
  store: JobStore;
  logger: Logger;
  /** How long a run with a policy waits for its client's verdict. Default 10 minutes. */
  verdictWaitMs?: number;
  now?: () => number;
}

interface PendingRun extends WitnessedRun {
  verification: JobVerification;
  timer: NodeJS.Timeout;
}


/** Runs awaiting a verdict at once; beyond it the oldest is settled as unchecked. */
const MAX_PENDING_RUNS = 10_000;
/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class VerdictWitness {
  private readonly pending = new Map<string, PendingRun>();
  private readonly listeners = new Set<VerificationListener>();
  /** Moves out of verifying under way, so that a stop waits for them before the store closes. */
  private readonly deciding = new Set<Promise<unknown>>();

  constructor(private readonly options: VerdictWitnessOptions) {}

  onVerification(listener: VerificationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A run's signed result passed through. Under policy none it is settled now and undefined is returned (the job
   * completes). Under another policy it waits for the verdict: the patch returned is what the aggregator persists
   * with the run's move to verifying, before the client sees the result.
   */
  witness(run: WitnessedRun, policy: VerificationPolicy, held: Pick<JobVerification, 'holdInvoice'> = {}): ReturnType<typeof verifyingPatchOf> | undefined {
    if (policy.kind === 'none') {
      this.emit(run, run.jobId, 'unchecked', policy);
      return undefined;
    }
    const patch = verifyingPatchOf(run, policy, this.now(), this.options.verdictWaitMs ?? DEFAULT_VERDICT_WAIT_MS, held);
    this.await(run, patch.verification);
    return patch;
  }

  /**
   * After a restart: every run the store holds in verifying waits again until its persisted deadline; one whose
   * window closed while the aggregator was down is settled unchecked now.
   */
  async resumeVerifying(): Promise<number> {
    const waiting = await this.options.store.list({ role: 'aggregator', states: ['verifying'] });
    for (const job of waiting) {
      const pending = pendingVerificationOf(job);
      if (!pending) {
        this.options.logger.error({ jobId: job.jobId }, 'a run in verifying lacks what its verdict is judged against; left for an operator');
        continue;
      }
      if (verdictWaitLeft(pending.verification, this.now()) > 0) this.await(pending.run, pending.verification);
      else await this.track(this.decide(pending.run, pending.verification, 'unchecked', pending.run.jobId));
    }
    if (waiting.length) this.options.logger.info({ runs: waiting.length }, 'runs awaiting a verification verdict reloaded');
    return waiting.length;
  }

  /**
   * The client's verdict: rejects with VerdictRejectedError when it contradicts what was relayed. `withdrawn`: the
   * client cancelled a check of this job before its result, so it may blame nobody.
   */
  async verdict(client: string, frame: FrameOf<'job.verdict'>, checks: { withdrawn?: boolean } = {}): Promise<VerificationOutcome[]> {
    const awaiting = [...this.pending.values()].filter((run) => run.checkOf === frame.jobId && run.client === client).map((run) => run.jobId);
    const runs = checkVerdictAgainstResults(frame, client, (jobId) => this.pending.get(jobId), { awaiting, ...checks });
    // Taken out of the waiting runs before anything is awaited: a second verdict, or the timer, finds them gone.
    const taken = runs.map((run) => this.take(run.jobId)!);
    this.options.logger.info({ jobId: frame.jobId, verdicts: frame.runs.map((run) => run.verdict) }, 'verification verdict recorded');
    return Promise.all(taken.map((run, i) => this.track(this.decide(run, run.verification, frame.runs[i]!.verdict, frame.jobId))));
  }

  /** Stops the windows (they are persisted and continue at the next start) and waits for decisions under way. */
  async stop(): Promise<void> {
    for (const run of this.pending.values()) clearTimeout(run.timer);
    this.pending.clear();
    await Promise.allSettled([...this.deciding]);
  }

  private await(run: WitnessedRun, verification: JobVerification): void {
    this.take(run.jobId);
    const timer = setTimeout(() => this.expire(run.jobId), Math.min(verdictWaitLeft(verification, this.now()), MAX_TIMER_MS));
    timer.unref();
    this.pending.set(run.jobId, { ...run, verification, timer });
    if (this.pending.size > MAX_PENDING_RUNS) this.expire(this.pending.keys().next().value!);
  }

  private take(jobId: string): PendingRun | undefined {
    const run = this.pending.get(jobId);
    if (!run) return undefined;
    clearTimeout(run.timer);
    this.pending.delete(jobId);
    return run;
  }

  private expire(jobId: string): void {
    const run = this.take(jobId);
    if (run) void this.track(this.decide(run, run.verification, 'unchecked', run.jobId));
  }

  /** Persists the move out of verifying, then emits the outcome (which settlement and reputation act on). */
  private async decide(run: WitnessedRun, verification: JobVerification, verdict: VerificationVerdict, verdictJobId: string): Promise<VerificationOutcome> {
    const to = jobStateAfterVerdict(verdict);
    await this.options.store.transition(run.jobId, 'aggregator', to, verdictPatchOf(verification, verdict, verdictJobId), `verification verdict: ${verdict}`).catch((error: Error) =>
      // The outcome still settles the payment (its ledger is crash-safe on its own); the job record lags behind.
      this.options.logger.error({ jobId: run.jobId, to, err: error.message }, 'cannot record the verdict on the job'),
    );
    return this.emit(run, verdictJobId, verdict, verification.policy);
  }

  private track<T>(deciding: Promise<T>): Promise<T> {
    this.deciding.add(deciding);
    void deciding.finally(() => this.deciding.delete(deciding)).catch(() => undefined);
    return deciding;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private emit(run: WitnessedRun, jobId: string, verdict: VerificationVerdict, policy: VerificationPolicy): VerificationOutcome {
    const outcome: VerificationOutcome = {
      jobId,
      runJobId: run.jobId,
      provider: run.provider,
      client: run.client,
      model: run.model,
      verdict,
      policy,
      outputHash: run.outputHash,
      resultEventId: run.resultEventId,
      ...(run.price ? { price: run.price } : {}),
      tokens: run.tokens,
      at: this.now(),
    };
    for (const listener of this.listeners) {
      try {
        listener(outcome);
      } catch (error) {
        this.options.logger.error({ err: (error as Error).message, jobId }, 'a verification listener failed');
      }
    }
    return outcome;
  }
}

export { VerdictRejectedError };
