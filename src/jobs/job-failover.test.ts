import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobSpec } from '../protocol/index.js';
import { attemptOfEvents, attemptPaymentId, describeLosses, jobIdOfPayment, MAX_JOB_ATTEMPTS, nextAttempt, rematchPath, replaySpec, type LostAttempt } from './job-failover.js';
import { isLegalTransition, type JobState } from './state-machine.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const lost = (provider: string, code = 'provider_unreachable', message = 'the provider disconnected'): LostAttempt => ({ provider, code, message });

describe('nextAttempt: whether a lost provider is replaced', () => {
  const table: Array<{ name: string; attempt: number; lost: LostAttempt[]; exclude?: string[]; expect: ReturnType<typeof nextAttempt>['kind']; excluded?: string[] }> = [
    { name: 'a provider lost on the first attempt is replaced, leaving it out', attempt: 1, lost: [lost(A)], expect: 'retry', excluded: [A] },
    { name: 'the second attempt leaves out both lost providers and those the client excluded', attempt: 2, lost: [lost(A), lost(B, 'busy', 'all 1 slots are busy')], exclude: [C], expect: 'retry', excluded: [C, A, B] },
    { name: 'a provider that rejects the offer as busy is replaced', attempt: 1, lost: [lost(A, 'busy', 'busy')], expect: 'retry', excluded: [A] },
    { name: 'a provider without the model is replaced', attempt: 1, lost: [lost(A, 'model_unavailable', 'no model')], expect: 'retry', excluded: [A] },
    { name: `the ${MAX_JOB_ATTEMPTS}rd lost attempt fails the job`, attempt: MAX_JOB_ATTEMPTS, lost: [lost(A), lost(B), lost(C)], expect: 'fail' },
    { name: 'a bad signature fails at once: any provider would refuse it', attempt: 1, lost: [lost(A, 'bad_signature', 'forged')], expect: 'fail' },
    { name: 'a passed deadline fails at once', attempt: 1, lost: [lost(A, 'deadline_exceeded', 'late')], expect: 'fail' },
  ];
  for (const row of table) {
    it(row.name, () => {
      const decision = nextAttempt({ attempt: row.attempt, lost: row.lost, ...(row.exclude ? { exclude: row.exclude } : {}) });
      assert.equal(decision.kind, row.expect);
      if (decision.kind === 'retry') {
        assert.equal(decision.attempt, row.attempt + 1);
        assert.deepEqual(decision.exclude, row.excluded);
      }
    });
  }

  it('the failure after the last attempt says why each provider was lost', () => {
    const decision = nextAttempt({ attempt: 3, lost: [lost(A), lost(B, 'busy', 'all 1 slots are busy'), lost(C, 'provider_unreachable', 'heartbeats missed')] });
    assert.equal(decision.kind, 'fail');
    if (decision.kind !== 'fail') return;
    for (const text of ['attempt 1', A.slice(0, 16), 'the provider disconnected', 'attempt 2', 'all 1 slots are busy', 'attempt 3', C.slice(0, 16), 'heartbeats missed']) assert.ok(decision.message.includes(text), `${text} in ${decision.message}`);
    assert.equal(describeLosses([]), '');
  });
});

describe('rematchPath: the legal moves back to matched', () => {
  const table: Array<[JobState, JobState[] | undefined]> = [
    ['running', ['dispatched', 'matched']],
    ['dispatched', ['matched']],
    ['matched', ['created', 'matched']],
    ['created', undefined],
    ['verifying', undefined],
    ['completed', undefined],
    ['failed', undefined],
  ];
  for (const [from, path] of table) {
    it(`from ${from}: ${path?.join(' -> ') ?? 'none'}`, () => {
      assert.deepEqual(rematchPath(from), path);
      let at = from;
      for (const to of path ?? []) {
        assert.ok(isLegalTransition(at, to), `${at} -> ${to}`);
        at = to;
      }
    });
  }
});

describe('attempt payments: one escrow key per attempt', () => {
  const table: Array<[number, string]> = [
    [1, 'job-1234'],
    [2, 'job-1234~2'],
    [3, 'job-1234~3'],
  ];
  for (const [attempt, key] of table) it(`attempt ${attempt} pays under ${key}`, () => assert.equal(attemptPaymentId('job-1234', attempt), key));

  it('the attempt is counted from the persisted moves into matched', () => {
    assert.equal(attemptOfEvents([]), 1);
    assert.equal(attemptOfEvents([{ to: 'created' }, { to: 'matched' }, { to: 'dispatched' }, { to: 'running' }, { to: 'completed' }]), 1);
    assert.equal(attemptOfEvents([{ to: 'created' }, { to: 'matched' }, { to: 'dispatched' }, { to: 'running' }, { to: 'dispatched' }, { to: 'matched' }, { to: 'dispatched' }]), 2);
    assert.equal(attemptOfEvents([{ to: 'matched' }, { to: 'created' }, { to: 'matched' }, { to: 'dispatched' }, { to: 'matched' }]), 3);
  });
});

describe('replaySpec: what the next provider is offered', () => {
  const spec = JobSpec.parse({ jobId: 'job-12345678', model: { name: 'm' }, input: { prompt: 'Once' }, sampling: { maxTokens: 10 }, deadline: Date.now() + 60_000 });
  it('nothing received: the same spec', () => assert.equal(replaySpec(spec, { text: '', tokenIds: [] }), spec));
  it('tokens received: continues after them, owing the rest', () => {
    const next = replaySpec(spec, { text: ' upon a', tokenIds: [5, 6, 7] })!;
    assert.deepEqual(next.continuation, { tokenIds: [5, 6, 7], text: ' upon a' });
    assert.equal(next.sampling.maxTokens, 7);
    assert.equal(next.jobId, spec.jobId);
    assert.doesNotThrow(() => JobSpec.parse(next));
  });
  it('every token received: nothing to replay', () => assert.equal(replaySpec(spec, { text: 'x', tokenIds: Array.from({ length: 10 }, (_, i) => i) }), undefined));
  it('an attempt key names its job', () => {
    assert.equal(jobIdOfPayment('job-1234~3'), 'job-1234');
    assert.equal(jobIdOfPayment('job-1234'), 'job-1234');
  });
});
