// Client jobs whose process ended before they did. `infernet submit` runs its job in its own process, beside any
// running daemon, and records it in the home's store; killed mid-job, it leaves the record in a state no one will
// move again. The job did end, though: the process's session with the aggregator closed with it, and an aggregator
// cancels a job whose client went away (its payment refunded). So a client job not finished whose owner process is
// no longer running is recorded cancelled, code `interrupted`: `infernet jobs` and a daemon start do this, so a
// restarted client sees each job's true end. A record from before owners were kept is left as it is.
import type { Logger } from '../log/index.js';
import { isProcessRunning, type ProcessIdentity } from '../processes/index.js';
import type { JobRecord } from './job-record.js';
import type { JobStore } from './job-store.js';
import { INTERRUPTIBLE_STATES } from './state-machine.js';

/** Records cancelled each unfinished client job whose owner is gone; returns them as recorded now. */
export async function endOrphanedClientJobs(store: JobStore, logger: Logger, isRunning: (owner: ProcessIdentity) => boolean = isProcessRunning): Promise<JobRecord[]> {
  const orphaned = (await store.list({ role: 'client', states: INTERRUPTIBLE_STATES })).filter((job) => job.owner && !isRunning(job.owner));
  const ended: JobRecord[] = [];
  for (const job of orphaned) {
    const message = `the process that ran it (pid ${job.owner!.pid}) ended while the job was ${job.state}; its session with the aggregator closed, which cancels the job there`;
    try {
      ended.push(await store.transition(job.jobId, 'client', 'cancelled', { error: { code: 'interrupted', message } }, message));
      logger.warn({ jobId: job.jobId, was: job.state, pid: job.owner!.pid }, 'a client job outlived by its process recorded cancelled');
    } catch (error) {
      // Another process (a daemon starting, another `infernet jobs`) recorded it first.
      logger.debug({ jobId: job.jobId, err: (error as Error).message }, 'orphaned client job already moved');
    }
  }
  return ended;
}
