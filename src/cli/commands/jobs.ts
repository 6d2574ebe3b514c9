// `infernet jobs`: the jobs this node has been part of, most recent first.
import { parseArgs } from 'node:util';
import { endOrphanedClientJobs, type JobRecord } from '../../jobs/index.js';
import { silentLogger } from '../../log/index.js';
import { openNodeStore } from '../../node/node-store.js';
import { npubOf } from '../../identity/index.js';
import { openNode } from '../open-node.js';
import { CliError } from '../cli-error.js';

export const JOBS_USAGE = `infernet jobs --home DIR [--json] [--limit N]`;

export async function jobsCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { home: { type: 'string' }, json: { type: 'boolean' }, limit: { type: 'string' } } });
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit must be a positive whole number, got "${values.limit}"`);
  const { home, config } = await openNode(values.home);
  const { store, close } = await openNodeStore(home, config, silentLogger());
  // A client job whose process ended before it did ended with it: recorded so before it is shown.
  const jobs = await endOrphanedClientJobs(store, silentLogger())
    .then(() => store.list({ limit }))
    .then((list) => list.map(withNpubs), (error: unknown) => error as Error)
    .finally(close);
  if (jobs instanceof Error) throw jobs;
  if (values.json) return console.log(JSON.stringify(jobs, null, 2));
  if (!jobs.length) return console.log('no jobs yet');
  for (const job of jobs) {
    console.log(`${new Date(job.createdAt).toISOString()}  ${job.jobId}  ${job.role.padEnd(10)} ${job.state.padEnd(10)} ${job.model}  ${job.tokens ?? 0} tokens${job.error ? `  ${job.error.code}: ${job.error.message}` : ''}`);
  }
}

function withNpubs(job: JobRecord): JobRecord & { providerNpub?: string; clientNpub?: string } {
  return {
    ...job,
    ...(job.provider ? { providerNpub: npubOf(job.provider) } : {}),
    ...(job.client ? { clientNpub: npubOf(job.client) } : {}),
  };
}
