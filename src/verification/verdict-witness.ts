// The aggregator's side of verification: remembers each run it relayed (from the provider's signed result), takes
// the client's job.verdict once checked against them, and emits one VerificationOutcome per run. Runs under policy
// none are unchecked at once; runs whose client never sends a verdict are unchecked when the wait runs out.
import type { Logger } from '../log/index.js';
import type { FrameOf, VerificationPolicy } from '../protocol/index.js';
import { checkVerdictAgainstResults, VerdictRejectedError, type WitnessedRun } from './check-verdict.js';
import type { VerificationListener, VerificationOutcome, VerificationVerdict } from './verification-outcome.js';

export interface VerdictWitnessOptions {
  logger: Logger;
  /** How long a run with a policy waits for its client's verdict. Default 10 minutes. */
  verdictWaitMs?: number;
  now?: () => number;
}

interface PendingRun extends WitnessedRun {
  policy: VerificationPolicy;
  timer: NodeJS.Timeout;
}

const DEFAULT_VERDICT_WAIT_MS = 10 * 60_000;
/** Runs awaiting a verdict at once; beyond it the oldest is settled as unchecked. */
const MAX_PENDING_RUNS = 10_000;

export class VerdictWitness {
  private readonly pending = new Map<string, PendingRun>();
  private readonly listeners = new Set<VerificationListener>();

  constructor(private readonly options: VerdictWitnessOptions) {}

  onVerification(listener: VerificationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A run's signed result passed through: under policy none it is settled now, else it waits for the verdict. */
  witness(run: WitnessedRun, policy: VerificationPolicy): void {
    if (policy.kind === 'none') {
      this.emit(run, run.jobId, 'unchecked', policy);
      return;
    }
    const timer = setTimeout(() => this.expire(run.jobId), this.options.verdictWaitMs ?? DEFAULT_VERDICT_WAIT_MS);
    timer.unref();
    this.pending.set(run.jobId, { ...run, policy, timer });
    if (this.pending.size > MAX_PENDING_RUNS) this.expire(this.pending.keys().next().value!);
  }

  /** The client's verdict: throws VerdictRejectedError when it contradicts what was relayed. */
  verdict(client: string, frame: FrameOf<'job.verdict'>): VerificationOutcome[] {
    const runs = checkVerdictAgainstResults(frame, client, (jobId) => this.pending.get(jobId));
    const outcomes = runs.map((run, i) => {
      const pending = this.pending.get(run.jobId)!;
      clearTimeout(pending.timer);
      this.pending.delete(run.jobId);
      return this.emit(run, frame.jobId, frame.runs[i]!.verdict, frame.policy);
    });
    this.options.logger.info({ jobId: frame.jobId, verdicts: frame.runs.map((run) => run.verdict) }, 'verification verdict recorded');
    return outcomes;
  }

  stop(): void {
    for (const run of this.pending.values()) clearTimeout(run.timer);
    this.pending.clear();
  }

  private expire(jobId: string): void {
    const run = this.pending.get(jobId);
    if (!run) return;
    clearTimeout(run.timer);
    this.pending.delete(jobId);
    this.emit(run, run.jobId, 'unchecked', run.policy);
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
      at: this.options.now?.() ?? Date.now(),
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
