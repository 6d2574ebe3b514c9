// Which checks the aggregator admits, and whom their draw leaves out, kept on the job's record in a real job store.
// The draw itself is drawProvider's (provider-selection.test.ts), the end-to-end attack
// test/adversary/framing-client.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileJobStore } from '../jobs/index.js';
import type { FrameOf } from '../protocol/index.js';
import { CheckedJobs, maxChecksOf } from './checked-jobs.js';

const [client, other, p1, p2, sybil] = ['c', 'f', '1', '2', '5'].map((c) => c.repeat(64)) as [string, string, string, string, string];
const request = (jobId: string, extra: Partial<FrameOf<'job.request'>> = {}): FrameOf<'job.request'> => ({ v: 1, type: 'job.request', jobId, model: { name: 'stories260K' }, maxTokens: 8, deadline: Date.now() + 60_000, verification: { kind: 'redundant', k: 2 }, ...extra });

/** The policy as a store may give it back: the same value, its keys in another order. */
const REORDERED_POLICY = JSON.parse('{"k":2,"kind":"redundant"}') as { kind: 'redundant'; k: number };

/** An aggregator's job store file, opened again as a restarted aggregator opens it. */
async function storeFile(): Promise<() => FileJobStore> {
  const path = join(await mkdtemp(join(tmpdir(), 'infernet-checks-')), 'jobs.jsonl');
  return () => new FileJobStore(path);
}

/** The aggregator matched `jobId` to p1: its record exists, then its checks are opened, as in match(). */
async function matched(openStore: () => FileJobStore, jobId = 'job-1', job = request(jobId)): Promise<CheckedJobs> {
  const store = openStore();
  await store.create({ jobId, role: 'aggregator', model: job.model.name, client, provider: p1, state: 'matched' });
  const jobs = new CheckedJobs(store);
  await jobs.open(jobId, client, job, p1);
  return jobs;
}

describe('CheckedJobs', () => {
  it('admits checks of a job of the same client, leaving out every provider of the job so far, up to the policy bound', async () => {
    const jobs = await matched(await storeFile());
    // The client's exclude list does not shape the draw: it could leave every honest provider out (attack 3).
    const first = await jobs.admitCheck(client, request('check-1', { checkOf: 'job-1', exclude: [p2] }));
    assert.deepEqual(first, { admitted: true, exclude: [p1] });
    await jobs.addProvider(request('check-1', { checkOf: 'job-1' }), p2);
    assert.deepEqual(await jobs.admitCheck(client, request('check-2', { checkOf: 'job-1' })), { admitted: true, exclude: [p1, p2] });
    const third = await jobs.admitCheck(client, request('check-3', { checkOf: 'job-1' }));
    assert.equal(third.admitted === false && third.code, 'no_provider', `redundant(2) allows ${maxChecksOf({ kind: 'redundant', k: 2 })} checks`);
  });

  it('admits no more than the bound of checks sent at once', async () => {
    const jobs = await matched(await storeFile());
    const admissions = await Promise.all([1, 2, 3, 4].map((n) => jobs.admitCheck(client, request(`check-${n}`, { checkOf: 'job-1' }))));
    assert.equal(admissions.filter((admission) => admission.admitted).length, 2);
  });

  const refused: Array<[string, string, Partial<FrameOf<'job.request'>>, string]> = [
    ['a check naming its provider (attack 3)', client, { checkOf: 'job-1', provider: sybil }, 'invalid_frame'],
    ["a check of another client's job", other, { checkOf: 'job-1' }, 'job_not_found'],
    ['a check of a job never matched here', client, { checkOf: 'job-unknown' }, 'job_not_found'],
    ['a check of another model', client, { checkOf: 'job-1', model: { name: 'other' } }, 'invalid_frame'],
    ['a check under another policy (none would settle it outside the verdict)', client, { checkOf: 'job-1', verification: { kind: 'none' } }, 'invalid_frame'],
  ];
  for (const [rule, by, extra, code] of refused) {
    it(`refuses ${rule}`, async () => {
      const jobs = await matched(await storeFile());
      const admission = await jobs.admitCheck(by, request('check-1', extra));
      assert.equal(admission.admitted === false && admission.code, code);
    });
  }

  it('keeps no checks for a job under policy none, and remembers a check withdrawn before its result', async () => {
    const openStore = await storeFile();
    const none = await matched(openStore, 'job-none', request('job-none', { verification: { kind: 'none' } }));
    assert.equal((await none.admitCheck(client, request('check', { checkOf: 'job-none' }))).admitted, false);
    const jobs = await matched(openStore);
    assert.equal(await jobs.withdrawn('job-1'), false);
    await jobs.withdraw(request('check-1', { checkOf: 'job-1' }));
    assert.equal(await jobs.withdrawn('job-1'), true);
  });

  it('survives a restart of the aggregator: the checks admitted, the providers left out and a withdrawal', async () => {
    const openStore = await storeFile();
    const before = await matched(openStore);
    assert.equal((await before.admitCheck(client, request('check-1', { checkOf: 'job-1' }))).admitted, true);
    await before.addProvider(request('check-1', { checkOf: 'job-1' }), p2);
    await before.withdraw(request('check-1', { checkOf: 'job-1' }));
    // Restarted: a new process, its store opened again on the same file.
    const after = new CheckedJobs(openStore());
    assert.equal(await after.withdrawn('job-1'), true, 'a client may not throw a check away and blame after a restart');
    assert.deepEqual(await after.admitCheck(client, request('check-2', { checkOf: 'job-1', verification: REORDERED_POLICY })), { admitted: true, exclude: [p1, p2] });
    const third = await after.admitCheck(client, request('check-3', { checkOf: 'job-1' }));
    assert.equal(third.admitted === false && third.code, 'no_provider');
  });
});
