import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createdJob, movedJob } from './job-step.js';
import { IllegalJobTransitionError } from './state-machine.js';

describe('a job step (pure)', () => {
  it('creates a job with its creation event, in the state asked or created', () => {
    assert.deepEqual(createdJob({ jobId: 'j', role: 'client', model: 'm' }, 5), {
      event: { jobId: 'j', role: 'client', from: null, to: 'created', at: 5 },
      record: { jobId: 'j', role: 'client', model: 'm', state: 'created', createdAt: 5, updatedAt: 5 },
    });
    assert.equal(createdJob({ jobId: 'j', role: 'provider', model: 'm', state: 'running' }, 5).event.to, 'running');
  });

  it('moves a job: the event names both states and the reason, the record takes the patch and the time', () => {
    const { record } = createdJob({ jobId: 'j', role: 'aggregator', model: 'm' }, 5);
    const step = movedJob(record, 'matched', { provider: 'p' }, 9, 'best provider');
    assert.deepEqual(step.event, { jobId: 'j', role: 'aggregator', from: 'created', to: 'matched', at: 9, reason: 'best provider' });
    assert.deepEqual(step.record, { ...record, provider: 'p', state: 'matched', updatedAt: 9 });
  });

  it('refuses a move the state machine forbids, before any event exists', () => {
    const { record } = createdJob({ jobId: 'j', role: 'aggregator', model: 'm' }, 5);
    assert.throws(() => movedJob(record, 'settled', {}, 9), IllegalJobTransitionError);
  });
});
