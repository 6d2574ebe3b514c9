// The aggregator's check of a client's verdict. It cannot read outputs, but it relayed every run's signed result and
// drew the provider of every check itself, so it refuses a verdict that contradicts what it saw: runs it did not
// relay for this client, checks it did not draw for this job, a check left out, a "majority" that is none. A run
// is failed only on evidence the aggregator judges itself: the client sends every run's fingerprints, each must
// hash to what its provider signed, and two checks must agree against the blamed one (independent-blame.ts).
import type { FrameOf, Price, TokenFingerprint } from '../protocol/index.js';
import { InfernetError } from '../errors/index.js';
import { blameIsIndependent, type JudgedRun } from './independent-blame.js';
import { fingerprintHash } from './token-fingerprint.js';

/** What the aggregator kept of a run it relayed: all from the provider's signed result and the match. */
export interface WitnessedRun {
  jobId: string;
  provider: string;
  client: string;
  model: string;
  outputHash: string;
  /** The hash of the run's fingerprints, from its signed result. */
  fingerprintHash?: string;
  resultEventId: string;
  tokens: number;
  price?: Price;
  /** For a check: the client's job it checks (job.request.checkOf), whose provider this aggregator drew. */
  checkOf?: string;
}

export class VerdictRejectedError extends InfernetError {
  override readonly name = 'VerdictRejectedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_frame', message, options);
  }
}

/** What the aggregator knows of a job's checks besides the verdict. */
export interface JobChecks {
  /** Checks of the job that reached a result here and await a verdict: every one must be named. */
  awaiting: readonly string[];
  /** True when the client withdrew a check of the job before its result (cancelled it): it may then blame nobody. */
  withdrawn?: boolean;
}

export function checkVerdictAgainstResults(verdict: FrameOf<'job.verdict'>, client: string, witnessed: (jobId: string) => WitnessedRun | undefined, checks: JobChecks = { awaiting: [] }): WitnessedRun[] {
  const runs = verdict.runs.map((run) => {
    const seen = witnessed(run.jobId);
    if (!seen || seen.client !== client) throw new VerdictRejectedError(`run ${run.jobId} was not relayed here for this client`);
    if (seen.provider !== run.provider) throw new VerdictRejectedError(`run ${run.jobId} was run by another provider than the verdict names`);
    return seen;
  });
  if (verdict.runs[0]!.jobId !== verdict.jobId) throw new VerdictRejectedError('the first run must be the job itself');
  const notDrawnCheck = runs.slice(1).find((run) => run.checkOf !== verdict.jobId);
  if (notDrawnCheck) throw new VerdictRejectedError(`run ${notDrawnCheck.jobId} is not a check this aggregator drew for job ${verdict.jobId}`);
  if (new Set(runs.map((run) => run.jobId)).size !== runs.length) throw new VerdictRejectedError('a run is named twice');
  const left = checks.awaiting.find((jobId) => !runs.some((run) => run.jobId === jobId));
  if (left) throw new VerdictRejectedError(`check ${left} of job ${verdict.jobId} is left out of the verdict`);
  if (new Set(runs.map((run) => run.provider)).size !== runs.length) throw new VerdictRejectedError('two runs by one provider check nothing');
  if (new Set(runs.map((run) => run.model)).size !== 1) throw new VerdictRejectedError('the runs are of different models');
  const verified = verdict.runs.flatMap((run, i) => (run.verdict === 'verified' ? [runs[i]!] : []));
  const failed = verdict.runs.flatMap((run, i) => (run.verdict === 'failed' ? [i] : []));
  if (failed.length && verified.length <= failed.length) throw new VerdictRejectedError('a run is blamed without a majority against it');
  const verifiedHashes = new Set(verified.map((run) => run.outputHash));
  const wronged = failed.map((i) => runs[i]!).find((run) => verifiedHashes.has(run.outputHash));
  if (wronged) throw new VerdictRejectedError(`run ${wronged.jobId} is blamed though its signed output equals a verified one`);
  if (verdict.runs.length === 1 && verdict.runs[0]!.verdict !== 'unchecked') throw new VerdictRejectedError('one run alone verifies nothing');
  if (failed.length) {
    if (checks.withdrawn) throw new VerdictRejectedError(`a check of job ${verdict.jobId} was cancelled before its result: nobody can be blamed`);
    const judged = runs.map((run, i) => judgedRun(run, verdict.runs[i]!.fingerprints));
    const unsupported = failed.find((i) => !blameIsIndependent(judged, i));
    if (unsupported !== undefined) throw new VerdictRejectedError(`run ${runs[unsupported]!.jobId} is blamed without two checks drawn at random agreeing against it`);
  }
  return runs;
}

/** A run as the aggregator compares it: the fingerprints the client sent, if they are the ones its provider signed. */
function judgedRun(run: WitnessedRun, fingerprints: readonly TokenFingerprint[] | undefined): JudgedRun {
  if (!fingerprints) throw new VerdictRejectedError(`a verdict that blames a run must send every run's fingerprints; run ${run.jobId} has none`);
  if (!run.fingerprintHash || fingerprintHash(fingerprints) !== run.fingerprintHash) throw new VerdictRejectedError(`the fingerprints sent for run ${run.jobId} are not the ones its provider signed`);
  return { outputHash: run.outputHash, tokenIds: fingerprints.map((fingerprint) => fingerprint.token), fingerprints, drawn: run.checkOf !== undefined };
}
