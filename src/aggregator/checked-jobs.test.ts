// Which checks the aggregator admits, and whom their draw leaves out. Pure bookkeeping; the draw itself is
// drawProvider's (provider-selection.test.ts), the end-to-end attack test/adversary/framing-client.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FrameOf } from '../protocol/index.js';
import { CheckedJobs, maxChecksOf } from './checked-jobs.js';

const [client, other, p1, p2, sybil] = ['c', 'f', '1', '2', '5'].map((c) => c.repeat(64)) as [string, string, string, string, string];
const request = (jobId: string, extra: Partial<FrameOf<'job.request'>> = {}): FrameOf<'job.request'> => ({ v: 1, type: 'job.request', jobId, model: { name: 'stories260K' }, maxTokens: 8, deadline: Date.now() + 60_000, verification: { kind: 'redundant', k: 2 }, ...extra });

describe('CheckedJobs', () => {
  it('admits checks of a job of the same client, leaving out every provider of the job so far, up to the policy bound', () => {
    const jobs = new CheckedJobs();
    jobs.open('job-1', client, request('job-1'), p1);
    // The client's exclude list does not shape the draw: it could leave every honest provider out (attack 3).
    const first = jobs.admitCheck(client, request('check-1', { checkOf: 'job-1', exclude: [p2] }));
    assert.deepEqual(first, { admitted: true, exclude: [p1] });
    jobs.addProvider(request('check-1', { checkOf: 'job-1' }), p2);
    assert.deepEqual(jobs.admitCheck(client, request('check-2', { checkOf: 'job-1' })), { admitted: true, exclude: [p1, p2] });
    const third = jobs.admitCheck(client, request('check-3', { checkOf: 'job-1' }));
    assert.equal(third.admitted === false && third.code, 'no_provider', `redundant(2) allows ${maxChecksOf({ kind: 'redundant', k: 2 })} checks`);
  });
  const refused: Array<[string, string, Partial<FrameOf<'job.request'>>, string]> = [
    ['a check naming its provider (attack 3)', client, { checkOf: 'job-1', provider: sybil }, 'invalid_frame'],
    ["a check of another client's job", other, { checkOf: 'job-1' }, 'job_not_found'],
    ['a check of a job never matched here', client, { checkOf: 'job-unknown' }, 'job_not_found'],
    ['a check of another model', client, { checkOf: 'job-1', model: { name: 'other' } }, 'invalid_frame'],
    ['a check under another policy (none would settle it outside the verdict)', client, { checkOf: 'job-1', verification: { kind: 'none' } }, 'invalid_frame'],
  ];
  for (const [rule, by, extra, code] of refused) {
    it(`refuses ${rule}`, () => {
      const jobs = new CheckedJobs();
      jobs.open('job-1', client, request('job-1'), p1);
      const admission = jobs.admitCheck(by, request('check-1', extra));
      assert.equal(admission.admitted === false && admission.code, code);
    });
  }
  it('keeps no job under policy none, and remembers a check withdrawn before its result', () => {
    const jobs = new CheckedJobs();
    jobs.open('job-none', client, request('job-none', { verification: { kind: 'none' } }), p1);
    assert.equal(jobs.admitCheck(client, request('check', { checkOf: 'job-none' })).admitted, false);
    jobs.open('job-1', client, request('job-1'), p1);
    assert.equal(jobs.withdrawn('job-1'), false);
    jobs.withdraw(request('check-1', { checkOf: 'job-1' }));
    assert.equal(jobs.withdrawn('job-1'), true);
  });
});
