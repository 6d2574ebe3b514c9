// The client's side of verification: runs a job under its policy, compares the executions and settles a
// disagreement with a further one, then tells the aggregator its verdict (job.verdict). A check is an ordinary
// job: the same spec under a fresh random job id, whose provider the aggregator draws among those that have not run
// it (job.request.checkOf), so that no provider can tell whether it is the one checked or the one checking, and the
// client cannot choose who checks. A run is blamed only when two checks agree against it
// (src/verification/independent-blame.ts); the verdict then carries every run's fingerprints, for the aggregator
// to compare itself.
import { randomUUID } from 'node:crypto';
import type { NodeKey } from '../identity/index.js';
import type { JobPayer } from '../payments/terms/job-payer.js';
import type { JobSpec, VerificationPolicy } from '../protocol/index.js';
import type { PeerSession } from '../transport/index.js';
import { runJob, type JobHooks, type JobOutcome } from './job-client.js';
import { sha256Hex } from '../jobs/job-envelopes.js';
import type { ComparableRun } from '../verification/compare-runs.js';
import { settleRuns } from '../verification/settle-runs.js';
import { independentVerdicts } from '../verification/independent-blame.js';
import { cryptoRandom } from '../verification/seeded-random.js';
import { initialRunCount, type RandomSource } from '../verification/verification-policy.js';
import type { VerificationOutcome, VerificationVerdict } from '../verification/verification-outcome.js';

export interface RunVerifiedJobOptions {
  hooks?: JobHooks;
  /** Pays every execution whose match asks payment: the primary and each check alike. */
  payer?: JobPayer;
  /** Decides whether a sampled job is checked; unpredictable by default. */
  random?: RandomSource;
}

export interface VerifiedJobOutcome extends JobOutcome {
  verification: {
    policy: VerificationPolicy;
    /** Every execution, the primary first. */
    runs: Array<{ jobId: string; provider: string; outputHash: string; verdict: VerificationVerdict }>;
    outcomes: VerificationOutcome[];
  };
}

/**
 * Runs the spec under spec.verification. Streams (hooks.onText) the primary run only; resolves with the output of
 * the run the majority agreed with, which is the primary's unless the primary was found wrong. Rejects like runJob
 * when the primary run fails; a check that cannot run (no other provider) leaves the job unchecked.
 */
export async function runVerifiedJob(session: PeerSession, key: NodeKey, spec: JobSpec, options: RunVerifiedJobOptions = {}): Promise<VerifiedJobOutcome> {
  const policy = spec.verification;
  const planned = initialRunCount(policy, options.random ?? cryptoRandom);
  const maxRuns = planned > 1 ? planned + 1 : 1;
  const providers: string[] = [];
  const executions: Array<Promise<JobOutcome | undefined>> = [];

  // The primary, then each check once the previous execution is matched, so that each goes to another provider.
  const start = (runSpec: JobSpec, hooks: JobHooks): Promise<string | undefined> =>
    new Promise((matched) => {
      const onMatched = (provider: string): void => {
        providers.push(provider);
        hooks.onMatched?.(provider);
        matched(provider);
      };
      const isPrimary = executions.length === 0;
      const run = runJob(session, key, runSpec, { ...hooks, ...(options.payer ? { payer: options.payer } : {}), exclude: [...providers], ...(isPrimary ? {} : { checkOf: spec.jobId }), onMatched });
      // The primary's failure is the job's; a failed check only leaves fewer executions to compare.
      const execution = run.then((outcome) => outcome, (error: unknown) => (isPrimary ? Promise.reject(error) : undefined));
      execution.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
      executions.push(execution);
      run.catch(() => matched(undefined));
    });

  const primaryMatched = await start(spec, options.hooks ?? {});
  if (primaryMatched) for (let i = 1; i < planned; i++) if (!(await start(checkSpec(spec), checkHooks(options.hooks)))) break;
  const primary = await executions[0]!;
  if (!primary) throw new Error('the primary run ended without a result');

  let runs = await completed(executions);
  let settled = settleRuns(runs.map(comparable), maxRuns);
  while (settled.needsAnotherRun) {
    const before = executions.length;
    if (!(await start(checkSpec(spec), checkHooks(options.hooks)))) break;
    runs = await completed(executions);
    if (executions.length === before || runs.length < executions.length) break;
    settled = settleRuns(runs.map(comparable), maxRuns);
  }
  // Every check's provider was drawn by the aggregator; the primary's may be the caller's choice.
  const judged = runs.map((run, i) => ({ ...comparable(run), drawn: i > 0 }));
  let verdicts = independentVerdicts(judged, settled.verdicts ?? runs.map((): VerificationVerdict => (runs.length > 1 ? 'inconclusive' : 'unchecked')));
  // A blame travels with every run's fingerprints; evidence too large for one frame blames nobody.
  if (verdicts.includes('failed') && evidenceBytes(runs) > MAX_EVIDENCE_BYTES) verdicts = verdicts.map((verdict) => (verdict === 'failed' ? 'inconclusive' : verdict));
  const winner = settled.winner !== undefined ? runs[settled.winner]! : primary;
  const at = Date.now();
  const verification: VerifiedJobOutcome['verification'] = {
    policy,
    runs: runs.map((run, i) => ({ jobId: run.jobId, provider: run.provider, outputHash: comparable(run).outputHash, verdict: verdicts[i]! })),
    outcomes: runs.map((run, i) => ({ jobId: spec.jobId, runJobId: run.jobId, provider: run.provider, client: key.publicKey, model: spec.model.name, verdict: verdicts[i]!, policy, outputHash: comparable(run).outputHash, resultEventId: run.resultEventId, tokens: run.tokens, at })),
  };
  if (policy.kind !== 'none' && session.isOpen) {
    // Fingerprints only with a blame: an aggregator sees no output unless the client asks it to fail a run.
    const blames = verdicts.includes('failed');
    session.send({ type: 'job.verdict', jobId: spec.jobId, policy, runs: verification.runs.map(({ jobId, provider, verdict }, i) => ({ jobId, provider, verdict, ...(blames && runs[i]!.fingerprints ? { fingerprints: [...runs[i]!.fingerprints!] } : {}) })) });
  }
  return { ...winner, jobId: spec.jobId, verification };
}

/** Fingerprints a verdict may carry: under the default 1 MiB frame limit (limits.maxFrameBytes), with room to spare. */
const MAX_EVIDENCE_BYTES = 768 * 1024;

function evidenceBytes(runs: readonly JobOutcome[]): number {
  return runs.reduce((sum, run) => sum + (run.fingerprints ? JSON.stringify(run.fingerprints).length : 0), 0);
}

function comparable(run: JobOutcome): ComparableRun {
  return { outputHash: run.outputHash ?? sha256Hex(run.output), tokenIds: run.tokenIds, ...(run.fingerprints ? { fingerprints: run.fingerprints } : {}) };
}

/** The same work under a fresh job id that looks like any other. */
function checkSpec(spec: JobSpec): JobSpec {
  return { ...spec, jobId: randomUUID() };
}

/** A check streams nothing to the user and is not cancelled separately: the client's signal still stops it. */
function checkHooks(hooks: JobHooks | undefined): JobHooks {
  return hooks?.signal ? { signal: hooks.signal } : {};
}

async function completed(executions: ReadonlyArray<Promise<JobOutcome | undefined>>): Promise<JobOutcome[]> {
  const outcomes = await Promise.all(executions);
  return outcomes.filter((outcome): outcome is JobOutcome => outcome !== undefined);
}
