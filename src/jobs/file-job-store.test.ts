import assert from 'node:assert/strict';
import { appendFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { FileJobStore } from './file-job-store.js';
import { describeJobStoreContract } from './job-store.contract.js';

describeJobStoreContract('FileJobStore', async () => new FileJobStore(join(await mkdtemp(join(tmpdir(), 'jobs-')), 'jobs.jsonl')));

it('FileJobStore survives a torn last line left by a crash mid-write', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'jobs-')), 'jobs.jsonl');
  const store = new FileJobStore(path);
  await store.create({ jobId: 'j1', role: 'client', model: 'm' });
  await appendFile(path, '{"kind":"job","job":{"jobId":"j1"');
  const reopened = new FileJobStore(path);
  assert.equal((await reopened.get('j1', 'client'))?.state, 'created');
});
