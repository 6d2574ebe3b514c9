// A job's life as a pure state machine: every component that moves a job asks this module whether the move is
// legal, so a crash can never leave a job in a state that no transition leads to.
import { InfernetError } from '../errors/index.js';

export const JOB_STATES = [
  'created',
  'matched',
  'dispatched',
  'running',
  'verifying',
  'completed',
  'settled',
  'failed',
  'cancelled',
  'refunded',
] as const;

export type JobState = (typeof JOB_STATES)[number];

const LEGAL_TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  created: ['matched', 'failed', 'cancelled'],
  // matched -> created: the matched provider went away before dispatch and the job is matched again.
  matched: ['dispatched', 'created', 'failed', 'cancelled'],
  // dispatched -> matched: the provider rejected the offer and another one is tried.
  dispatched: ['running', 'matched', 'failed', 'cancelled'],
  // running -> dispatched: the provider was lost mid-job and the job is re-dispatched elsewhere.
  running: ['verifying', 'completed', 'dispatched', 'failed', 'cancelled'],
  verifying: ['completed', 'failed'],
  completed: ['settled', 'refunded'],
  settled: [],
  failed: ['refunded'],
  cancelled: ['refunded'],
  refunded: [],
};

/** What each state means, for docs/job-lifecycle.md (rendered from this module by job-lifecycle-doc.ts). */
export const JOB_STATE_MEANINGS: Readonly<Record<JobState, string>> = {
  created: 'recorded; no provider chosen yet',
  matched: 'a provider was chosen and the client told its terms',
  dispatched: "the client's signed offer went to the provider",
  running: 'the provider accepted and streams its output',
  verifying: "the aggregator relayed the run's signed result and waits, persisted, for the client's verification verdict (policies other than none); nothing is paid or refunded from here",
  completed: 'the run ended well (or its verdict found nothing wrong, or its verdict window closed): it is paid',
  settled: "the payment was released to the provider",
  failed: 'the run ended without a usable result, or its verdict found it wrong: the client is refunded',
  cancelled: 'the client or a disconnect stopped the job: the client is refunded',
  refunded: "the client's payment came back",
};

/** Why a transition off the main line happens, for docs/job-lifecycle.md; every key is a legal transition. */
export const JOB_TRANSITION_NOTES: Readonly<Partial<Record<`${JobState} -> ${JobState}`, string>>> = {
  'matched -> created': 'the matched provider went away before dispatch; the job is matched again (failover, src/jobs/job-failover.ts)',
  'dispatched -> matched': 'the provider rejected the offer, or was lost; another provider of the model is matched, leaving out the lost ones (at most 3 attempts, each paid under its own escrow key, the lost one refunded)',
  'running -> dispatched': 'the provider was lost mid-job (connection closed, heartbeats missed, killed); the job is matched again elsewhere and the client replays the tokens it received, which the new provider continues',
  'running -> verifying': "the result passed the aggregator's signature check and the job has a verification policy",
  'running -> completed': 'the result passed and the job has no verification policy (none): unchecked, paid',
  'verifying -> completed': "the client's verdict is verified, unchecked or inconclusive, or the persisted verdict deadline passed (unchecked)",
  'verifying -> failed': "the client's verdict, checked against the relayed results, finds the run wrong",
};

/** States from which no work is left to do for the job (payments may still follow from completed). */
export const FINISHED_STATES: readonly JobState[] = ['completed', 'settled', 'failed', 'cancelled', 'refunded'];

/**
 * Where a process that ends mid-job leaves it: not finished, and not verifying (a run relayed in full that waits,
 * persisted, for its client's verdict: the verdict witness resumes it).
 */
export const INTERRUPTIBLE_STATES: readonly JobState[] = JOB_STATES.filter((state) => !FINISHED_STATES.includes(state) && state !== 'verifying');

export class IllegalJobTransitionError extends InfernetError {
  override readonly name = 'IllegalJobTransitionError';
  constructor(
    readonly jobId: string,
    readonly from: JobState,
    readonly to: JobState,
  ) {
    super('internal', `job ${jobId} cannot move from ${from} to ${to}`);
  }
}

export function isLegalTransition(from: JobState, to: JobState): boolean {
  return LEGAL_TRANSITIONS[from].includes(to);
}

export function nextStatesOf(state: JobState): readonly JobState[] {
  return LEGAL_TRANSITIONS[state];
}

export function isFinished(state: JobState): boolean {
  return FINISHED_STATES.includes(state);
}

/** Throws IllegalJobTransitionError unless `from -> to` is a legal move. */
export function assertTransition(jobId: string, from: JobState, to: JobState): void {
  if (!isLegalTransition(from, to)) throw new IllegalJobTransitionError(jobId, from, to);
}

/** The line a job follows when nothing goes wrong. */
const MAIN_LINE: readonly JobState[] = ['created', 'matched', 'dispatched', 'running', 'completed', 'settled'];

/**
 * The transitions that take a job from `from` to `to`: along the main line when `to` lies ahead on it (so a
 * job whose progress events were overtaken by its result still records every step), else the direct move.
 */
export function forwardPath(from: JobState, to: JobState): JobState[] {
  const start = MAIN_LINE.indexOf(from);
  const end = MAIN_LINE.indexOf(to);
  if (start >= 0 && end > start) return MAIN_LINE.slice(start + 1, end + 1) as JobState[];
  // verifying is a side step of running (a run waiting for its verdict): it is reached through running.
  const running = MAIN_LINE.indexOf('running');
  if (to === 'verifying' && start >= 0 && start < running) return [...(MAIN_LINE.slice(start + 1, running + 1) as JobState[]), 'verifying'];
  return [to];
}
