import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobRecord } from '../../jobs/job-record.js';
import { outcomeFrameOf, untoldOutcomeOf, WaitingOutcomes } from './held-invoice-outcomes.js';

const held = { provider: 'p'.repeat(64), paymentHash: 'a'.repeat(64), preimage: 'b'.repeat(64) };
const finished = (patch: Partial<JobRecord['verification']> = {}): JobRecord => ({ jobId: 'job-1', role: 'aggregator', state: 'completed', model: 'm', createdAt: 1, updatedAt: 2, verification: { policy: { kind: 'redundant', k: 2 }, resultEventId: 'e'.repeat(64), verdictDeadline: 3, verdict: 'verified', holdInvoice: held, ...patch } });

describe('verdicts told to the provider of a hold invoice', () => {
  for (const verdict of ['verified', 'unchecked', 'inconclusive'] as const) {
    it(`reveals the preimage for ${verdict}`, () => assert.equal(outcomeFrameOf('job-1', verdict, held).preimage, held.preimage));
  }
  it('withholds the preimage for failed (the provider cancels; it could not settle anyway)', () => {
    assert.deepEqual(outcomeFrameOf('job-1', 'failed', held), { type: 'job.outcome', jobId: 'job-1', verdict: 'failed' });
  });
  it('finds in a record a verdict not yet told, and none once told or before the verdict', () => {
    assert.deepEqual(untoldOutcomeOf(finished()), { provider: held.provider, frame: { type: 'job.outcome', jobId: 'job-1', verdict: 'verified', preimage: held.preimage } });
    assert.equal(untoldOutcomeOf(finished({ holdInvoice: { ...held, told: true } })), undefined);
    assert.equal(untoldOutcomeOf(finished({ verdict: undefined })), undefined);
  });
  it('keeps waiting outcomes per provider, once per job, until taken', () => {
    const waiting = new WaitingOutcomes();
    waiting.add('A', outcomeFrameOf('job-1', 'verified', held));
    waiting.add('A', outcomeFrameOf('job-1', 'verified', held));
    waiting.add('B', outcomeFrameOf('job-2', 'failed', held));
    assert.equal(waiting.size, 2);
    assert.deepEqual(waiting.takeFor('A').map((frame) => frame.jobId), ['job-1']);
    assert.deepEqual(waiting.takeFor('A'), []);
    assert.equal(waiting.size, 1);
  });
});
