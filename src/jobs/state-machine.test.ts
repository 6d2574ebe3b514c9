import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertTransition, IllegalJobTransitionError, isFinished, isLegalTransition, JOB_STATES, type JobState } from './state-machine.js';

describe('job state machine', () => {
  const legal: [JobState, JobState][] = [
    ['created', 'matched'],
    ['matched', 'dispatched'],
    ['dispatched', 'running'],
    ['running', 'verifying'],
    ['verifying', 'completed'],
    ['verifying', 'failed'],
    ['completed', 'settled'],
    ['running', 'dispatched'],
    ['failed', 'refunded'],
    ['cancelled', 'refunded'],
  ];
  const illegal: [JobState, JobState][] = [
    ['created', 'running'],
    ['settled', 'refunded'],
    ['refunded', 'settled'],
    ['verifying', 'running'],
    ['verifying', 'settled'],
    ['verifying', 'refunded'],
    ['verifying', 'cancelled'],
    ['completed', 'running'],
    ['failed', 'completed'],
  ];
  for (const [from, to] of legal) it(`allows ${from} -> ${to}`, () => assert.ok(isLegalTransition(from, to)));
  for (const [from, to] of illegal) {
    it(`refuses ${from} -> ${to} with a named error`, () =>
      assert.throws(() => assertTransition('job-1', from, to), IllegalJobTransitionError));
  }
  it('has no transition out of settled or refunded', () => {
    for (const to of JOB_STATES) {
      assert.equal(isLegalTransition('settled', to), false);
      assert.equal(isLegalTransition('refunded', to), false);
    }
  });
  it('counts completed, failed and cancelled as finished, running as not', () => {
    assert.ok(isFinished('completed') && isFinished('failed') && isFinished('cancelled'));
    assert.equal(isFinished('running'), false);
  });
});

describe('forwardPath', () => {
  it('walks the main line to a state ahead of it', async () => {
    const { forwardPath } = await import('./state-machine.js');
    assert.deepEqual(forwardPath('matched', 'completed'), ['dispatched', 'running', 'completed']);
    assert.deepEqual(forwardPath('running', 'failed'), ['failed']);
    assert.deepEqual(forwardPath('created', 'cancelled'), ['cancelled']);
  });
  it('reaches verifying through running, and leaves it directly', async () => {
    const { forwardPath } = await import('./state-machine.js');
    assert.deepEqual(forwardPath('dispatched', 'verifying'), ['running', 'verifying']);
    assert.deepEqual(forwardPath('running', 'verifying'), ['verifying']);
    assert.deepEqual(forwardPath('verifying', 'completed'), ['completed']);
    assert.deepEqual(forwardPath('verifying', 'failed'), ['failed']);
  });
});
