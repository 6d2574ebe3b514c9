import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attemptPaymentId, jobIdOfPayment } from '../jobs/job-failover.js';
import { JobId } from '../protocol/index.js';
import { aggregatorAttemptJobId } from './run-job-across-aggregators.js';

describe('aggregatorAttemptJobId', () => {
  const ids = ['0b6f3c1e-8d2a-4c55-9e1f-3a7b2c9d4e10', 'a'.repeat(64), 'job_12345678'];

  it('keeps the job id for the first aggregator, so a job that never fails over pays as before', () => {
    for (const id of ids) assert.equal(aggregatorAttemptJobId(id, 1), id);
  });

  it('gives each later aggregator a valid job id of its own, distinct from every payment key of the lost attempts', () => {
    for (const id of ids) {
      const later = [2, 3].map((attempt) => aggregatorAttemptJobId(id, attempt));
      for (const attemptId of later) {
        assert.ok(JobId.safeParse(attemptId).success, attemptId);
        // The escrow keys the lost aggregator may have taken deposits under: <jobId>, <jobId>~2 ... ~8.
        for (let n = 1; n <= 8; n++) assert.notEqual(attemptPaymentId(attemptId, 1), attemptPaymentId(id, n));
        assert.notEqual(jobIdOfPayment(attemptPaymentId(attemptId, 2)), id);
      }
      assert.equal(new Set(later).size, later.length);
    }
  });
});
