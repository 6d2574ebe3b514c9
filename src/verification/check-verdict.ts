// The aggregator's check of a client's verdict. It cannot read outputs, but it relayed every run's signed result,
// so it refuses a verdict that contradicts what it saw: runs it did not relay for this client, a run blamed whose
// output hash equals a verified run's, or a "majority" that is none.
import type { FrameOf, Price } from '../protocol/index.js';
import { InfernetError } from '../errors/index.js';

/** What the aggregator kept of a run it relayed: all from the provider's signed result and the match. */
export interface WitnessedRun {
  jobId: string;
  provider: string;
  client: string;
  model: string;
  outputHash: string;
  resultEventId: string;
  tokens: number;
  price?: Price;
}

export class VerdictRejectedError extends InfernetError {
  override readonly name = 'VerdictRejectedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_frame', message, options);
  }
}

export function checkVerdictAgainstResults(verdict: FrameOf<'job.verdict'>, client: string, witnessed: (jobId: string) => WitnessedRun | undefined): WitnessedRun[] {
  const runs = verdict.runs.map((run) => {
    const seen = witnessed(run.jobId);
    if (!seen || seen.client !== client) throw new VerdictRejectedError(`run ${run.jobId} was not relayed here for this client`);
    if (seen.provider !== run.provider) throw new VerdictRejectedError(`run ${run.jobId} was run by another provider than the verdict names`);
    return seen;
  });
  if (verdict.runs[0]!.jobId !== verdict.jobId) throw new VerdictRejectedError('the first run must be the job itself');
  if (new Set(runs.map((run) => run.jobId)).size !== runs.length) throw new VerdictRejectedError('a run is named twice');
  if (new Set(runs.map((run) => run.provider)).size !== runs.length) throw new VerdictRejectedError('two runs by one provider check nothing');
  if (new Set(runs.map((run) => run.model)).size !== 1) throw new VerdictRejectedError('the runs are of different models');
  const verified = verdict.runs.flatMap((run, i) => (run.verdict === 'verified' ? [runs[i]!] : []));
  const failed = verdict.runs.flatMap((run, i) => (run.verdict === 'failed' ? [runs[i]!] : []));
  if (failed.length && verified.length <= failed.length) throw new VerdictRejectedError('a run is blamed without a majority against it');
  if (failed.length && verified.length < 2) throw new VerdictRejectedError('a run is blamed without two agreeing runs against it');
  const verifiedHashes = new Set(verified.map((run) => run.outputHash));
  const wronged = failed.find((run) => verifiedHashes.has(run.outputHash));
  if (wronged) throw new VerdictRejectedError(`run ${wronged.jobId} is blamed though its signed output equals a verified one`);
  if (verdict.runs.length === 1 && verdict.runs[0]!.verdict !== 'unchecked') throw new VerdictRejectedError('one run alone verifies nothing');
  return runs;
}
