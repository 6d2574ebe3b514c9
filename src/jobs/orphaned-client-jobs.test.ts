// Client jobs outlived by their process, against a real FileJobStore and real processes (this one, and a child
// that has exited): only an unfinished job whose owner is gone is recorded cancelled.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '../log/index.js';
import { currentProcessIdentity } from '../processes/index.js';
import { FileJobStore } from './file-job-store.js';
import { endOrphanedClientJobs } from './orphaned-client-jobs.js';

describe('endOrphanedClientJobs', () => {
  it('records cancelled (interrupted) an unfinished client job whose process is gone, and nothing else', async () => {
    const store = new FileJobStore(join(await mkdtemp(join(tmpdir(), 'orphaned-')), 'jobs.jsonl'));
    const child = spawn(process.execPath, ['-e', '']);
    const gone = { pid: child.pid! };
    await once(child, 'exit');
    const live = currentProcessIdentity();
    await store.create({ jobId: 'job-gone', role: 'client', model: 'm', state: 'running', owner: gone });
    await store.create({ jobId: 'job-gone-early', role: 'client', model: 'm', state: 'dispatched', owner: gone });
    await store.create({ jobId: 'job-live', role: 'client', model: 'm', state: 'running', owner: live });
    await store.create({ jobId: 'job-legacy', role: 'client', model: 'm', state: 'running' });
    await store.create({ jobId: 'job-done', role: 'client', model: 'm', state: 'completed', owner: gone });
    await store.create({ jobId: 'job-gone', role: 'aggregator', model: 'm', state: 'running' });
    const ended = await endOrphanedClientJobs(store, silentLogger());
    assert.deepEqual(ended.map((job) => job.jobId).sort(), ['job-gone', 'job-gone-early']);
    const stateOf = async (jobId: string, role: 'client' | 'aggregator' = 'client') => {
      const job = await store.get(jobId, role);
      return [job?.state, job?.error?.code];
    };
    assert.deepEqual(await stateOf('job-gone'), ['cancelled', 'interrupted']);
    assert.deepEqual(await stateOf('job-gone-early'), ['cancelled', 'interrupted']);
    assert.deepEqual(await stateOf('job-live'), ['running', undefined], "a job whose process still runs is that process's");
    assert.deepEqual(await stateOf('job-legacy'), ['running', undefined], 'a record without an owner cannot be judged');
    assert.deepEqual(await stateOf('job-done'), ['completed', undefined]);
    assert.deepEqual(await stateOf('job-gone', 'aggregator'), ['running', undefined], 'only client jobs have owners');
    assert.match((await store.get('job-gone', 'client'))!.error!.message, new RegExp(`pid ${gone.pid}`));
    assert.deepEqual(await endOrphanedClientJobs(store, silentLogger()), [], 'a second pass finds nothing left');
  });
});
