// When a head keeps its stages between jobs, a provider's limits (a stage's lifetime, the bytes through its
// tunnels) would otherwise end a stage in the middle of some later job. The head decides before each job, from
// what the provider announced and what the jobs so far took, whether the warm stages still have room for one more
// job; when they do not, it closes them and opens new ones between jobs (with a held model or the workers' tensor
// cache that reload is cheap). Pure, so the margins are table-tested.

/** A job may take at least this long: a stage with less time left is renewed first. */
export const MIN_STAGE_TIME_MARGIN_MS = 30_000;
/** A job may move at least this many bytes through a stage (activations both ways, per token, plus the prompt). */
export const MIN_STAGE_BYTE_MARGIN = 16 * 2 ** 20;
/** Room for a job is this many times the largest one so far. */
const JOB_GROWTH_FACTOR = 2;

export interface WarmStageBudget {
  /** The stage's id on its provider, for the reason. */
  stage: string;
  /** ms since the stage opened. */
  ageMs: number;
  /** Bytes through the stage's tunnels so far, weights included. */
  bytesMoved: number;
  /** The provider's limits, when it announced them (older providers do not). */
  maxStageMs?: number;
  maxStageBytes?: number;
}

export interface JobHistory {
  /** The longest generation on these stages so far, in ms (head start excluded). */
  longestJobMs: number;
  /** The most bytes one generation moved through any one of these stages. */
  largestJobBytes: number;
}

/** Why the warm stages must be renewed before the next job, or undefined when they can take it. */
export function stageRenewalReason(stages: readonly WarmStageBudget[], history: JobHistory): string | undefined {
  const timeNeeded = Math.max(MIN_STAGE_TIME_MARGIN_MS, JOB_GROWTH_FACTOR * history.longestJobMs);
  const bytesNeeded = Math.max(MIN_STAGE_BYTE_MARGIN, JOB_GROWTH_FACTOR * history.largestJobBytes);
  for (const stage of stages) {
    if (stage.maxStageMs !== undefined && stage.maxStageMs - stage.ageMs < timeNeeded) {
      return `stage ${stage.stage} has ${Math.max(0, stage.maxStageMs - stage.ageMs)} ms of its ${stage.maxStageMs} ms left, a job may need ${timeNeeded}`;
    }
    if (stage.maxStageBytes !== undefined && stage.maxStageBytes - stage.bytesMoved < bytesNeeded) {
      return `stage ${stage.stage} has ${Math.max(0, stage.maxStageBytes - stage.bytesMoved)} of its ${stage.maxStageBytes} bytes left, a job may need ${bytesNeeded}`;
    }
  }
  return undefined;
}
