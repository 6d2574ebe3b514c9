import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLegalTransition, type JobState } from '../../jobs/state-machine.js';
import { jobStateAfter, settlementForJobState, settlementForVerdict } from './settlement-decision.js';

describe('settlement decisions', () => {
  it('pays a run unless verification found it wrong', () => {
    assert.deepEqual(
      (['verified', 'unchecked', 'inconclusive', 'failed'] as const).map((verdict) => [verdict, settlementForVerdict(verdict)]),
      [['verified', 'release'], ['unchecked', 'release'], ['inconclusive', 'release'], ['failed', 'refund']],
    );
  });

  it('settles a job by its end state, and nothing for a job still under way or already settled', () => {
    const table: [JobState, string | undefined][] = [
      ['completed', 'release'],
      ['failed', 'refund'],
      ['cancelled', 'refund'],
      ['created', undefined],
      ['running', undefined],
      ['verifying', undefined],
      ['settled', undefined],
      ['refunded', undefined],
    ];
    for (const [state, action] of table) assert.equal(settlementForJobState(state), action, state);
  });

  it('records a settlement with a legal transition from every state that settles', () => {
    assert.ok(isLegalTransition('completed', jobStateAfter('release')));
    assert.ok(isLegalTransition('failed', jobStateAfter('refund')));
    assert.ok(isLegalTransition('cancelled', jobStateAfter('refund')));
    assert.ok(isLegalTransition('completed', jobStateAfter('refund')));
  });
});
