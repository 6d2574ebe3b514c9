// How a node's jobs resume after a crash or a stop, role by role. What a restart does with the jobs the store holds
// unfinished is here; the rest follows from state persisted elsewhere, named below so that one file tells it all:
// - provider and aggregator jobs in flight: their sessions died with the process, and a provider keeps only the id
//   of the spec it accepted (not its prompt), so none can run on here. Each is failed, code `interrupted`: the
//   aggregator (or the client) lost the session when the process died and failed the job over already
//   (job-failover.ts, src/aggregator/aggregator-service.ts, src/client/run-job-across-aggregators.ts).
// - client jobs whose process (`infernet submit`) died: recorded cancelled, `interrupted`, with the text and token ids
//   streamed before (orphaned-client-jobs.ts, src/client/client-job-record.ts); a client whose aggregator restarted
//   dials it again and the job goes on after the tokens it had (src/client/run-job-through-aggregator.ts).
// - runs waiting in `verifying`: the witness waits again until their persisted deadlines and honours a late verdict
//   (src/verification/verdict-witness.ts, resumeVerifying).
// - payments, ratings, phone pushes: each reader of the job event feed goes on from its persisted cursor, so what
//   was due when the node stopped happens at its next start (job-event-feed.ts).
import type { Logger } from '../log/index.js';
import type { JobStore } from './job-store.js';
import { endOrphanedClientJobs } from './orphaned-client-jobs.js';
import { INTERRUPTIBLE_STATES } from './state-machine.js';

/** At a node's start, before it serves: every unfinished job of the store is brought to its true end. */
export async function resumeJobsAfterRestart(store: JobStore, logger: Logger): Promise<void> {
  await failInterruptedJobs(store, logger);
  await endOrphanedClientJobs(store, logger);
}

/** Jobs this node was relaying or running when it last stopped without finishing them: failed, with the reason. */
async function failInterruptedJobs(store: JobStore, logger: Logger): Promise<void> {
  for (const role of ['provider', 'aggregator'] as const) {
    for (const job of await store.list({ role, states: INTERRUPTIBLE_STATES })) {
      const message = `the node stopped while the job was ${job.state}`;
      await store.transition(job.jobId, role, 'failed', { error: { code: 'interrupted', message } }, message);
      logger.warn({ jobId: job.jobId, role, was: job.state }, 'failed a job interrupted by the last stop');
    }
  }
}
