import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FrameOf, TokenFingerprint } from '../protocol/index.js';
import { checkVerdictAgainstResults, VerdictRejectedError, type WitnessedRun } from './check-verdict.js';
import { compareRuns, type ComparableRun } from './compare-runs.js';
import { seededRandom } from './seeded-random.js';
import { settleRuns } from './settle-runs.js';
import { fingerprintHash } from './token-fingerprint.js';
import { initialRunCount, parsePolicyLabel, policyLabel } from './verification-policy.js';

const fp = (token: number, logprob: number, top: Array<[number, number]> = [[token, logprob]]): TokenFingerprint => ({ token, logprob, top });
const run = (outputHash: string, fingerprints?: TokenFingerprint[]): ComparableRun => ({ outputHash, tokenIds: (fingerprints ?? []).map((f) => f.token), ...(fingerprints ? { fingerprints } : {}) });
const honest = [fp(5, -0.1, [[5, -0.1], [7, -2.5]]), fp(9, -0.3, [[9, -0.3], [4, -0.35]]), fp(2, -0.01)];

describe('compareRuns', () => {
  const table: Array<[string, ComparableRun, ComparableRun, boolean]> = [
    ['agrees on bit-identical outputs', run('a'.repeat(64), honest), run('a'.repeat(64), honest), true],
    ['agrees on logprobs within the tolerance before a near-tie (other hardware)', run('h1', honest), run('h2', [fp(5, -0.11, [[5, -0.11], [7, -2.4]]), fp(4, -0.32, [[4, -0.32], [9, -0.34]])]), true],
    ['refuses logprobs beyond the tolerance before a near-tie', run('h1', honest), run('h2', [fp(5, -0.4, [[5, -0.4], [7, -2.4]]), fp(4, -0.32, [[4, -0.32], [9, -0.34]])]), false],
    ['refuses the same tokens with a different text (a forged output)', run('h1', honest), run('h2', honest), false],
    ['forgives a different token at a near-tie', run('h1', honest), run('h2', [honest[0]!, fp(4, -0.32, [[4, -0.32], [9, -0.34]]), fp(8, -0.5)]), true],
    ['refuses a different token without a near-tie', run('h1', honest), run('h2', [fp(7, -2.5, [[7, -2.5], [5, -0.1]]), ...honest.slice(1)]), false],
    ['refuses a run that stops early', run('h1', honest), run('h2', honest.slice(0, 2)), false],
    ['refuses different outputs without fingerprints', run('h1'), run('h2'), false],
    ['refuses fingerprints that are not of the run\'s own tokens', run('h1', honest), { outputHash: 'h2', tokenIds: [1, 2, 3], fingerprints: honest }, false],
  ];
  for (const [rule, a, b, agree] of table) {
    it(rule, () => {
      assert.equal(compareRuns(a, b).agree, agree);
      assert.equal(compareRuns(b, a).agree, agree, 'the comparison is symmetric');
    });
  }
});

describe('settleRuns', () => {
  const good = run('good', honest);
  const bad = run('bad', [fp(1, -0.1), fp(1, -0.1), fp(1, -0.1)]);
  const other = run('other', [fp(3, -0.1), fp(3, -0.1), fp(3, -0.1)]);
  it('leaves a single run unchecked', () => assert.deepEqual(settleRuns([good], 1), { verdicts: ['unchecked'], needsAnotherRun: false, winner: 0 }));
  it('verifies two agreeing runs', () => assert.deepEqual(settleRuns([good, good], 3).verdicts, ['verified', 'verified']));
  // redundant(2) with one liar, whichever position it holds: always detected, always settled by the third run.
  for (const [name, first, second] of [['the liar runs first', bad, good], ['the liar runs second', good, bad]] as const) {
    it(`asks for a third run when two disagree (${name}), and the third settles it against the liar`, () => {
      assert.deepEqual(settleRuns([first, second], 3), { verdicts: undefined, needsAnotherRun: true });
      const settled = settleRuns([first, second, good], 3);
      assert.deepEqual(settled.verdicts, [first === bad ? 'failed' : 'verified', second === bad ? 'failed' : 'verified', 'verified']);
      assert.equal(settled.needsAnotherRun, false);
    });
  }
  it('blames nobody when three runs all disagree and no more may run', () => assert.deepEqual(settleRuns([good, bad, other], 3).verdicts, ['inconclusive', 'inconclusive', 'inconclusive']));
  it('settles redundant(3) by majority without a further run', () => assert.deepEqual(settleRuns([bad, good, good], 4).verdicts, ['failed', 'verified', 'verified']));
});

describe('verification policies', () => {
  it('starts k runs for redundant(k) and one for none', () => {
    assert.equal(initialRunCount({ kind: 'redundant', k: 3 }, () => 0.99), 3);
    assert.equal(initialRunCount({ kind: 'none' }, () => 0), 1);
  });
  it('checks a share p of sampled(p) jobs (fixed seed, 10,000 draws)', () => {
    const random = seededRandom(42);
    let checked = 0;
    for (let i = 0; i < 10_000; i++) if (initialRunCount({ kind: 'sampled', p: 0.1 }, random) === 2) checked++;
    assert.ok(checked > 900 && checked < 1100, `checked ${checked} of 10,000`);
  });
  it('writes and reads policy labels', () => {
    for (const policy of [{ kind: 'none' }, { kind: 'redundant', k: 2 }, { kind: 'sampled', p: 0.1 }] as const) assert.deepEqual(parsePolicyLabel(policyLabel(policy)), policy);
    assert.equal(parsePolicyLabel('sampled:7'), undefined);
  });
  it('hashes fingerprints stably and tells different ones apart', () => {
    assert.equal(fingerprintHash(honest), fingerprintHash(structuredClone(honest)));
    assert.notEqual(fingerprintHash(honest), fingerprintHash(honest.slice(1)));
  });
});

describe('checkVerdictAgainstResults (the aggregator witnesses the client)', () => {
  const client = 'c'.repeat(64);
  const seen = (jobId: string, provider: string, outputHash: string): WitnessedRun => ({ jobId, provider, client, model: 'stories260K', outputHash, resultEventId: 'e'.repeat(64), tokens: 3 });
  const relayed = new Map([seen('job-primary', 'a'.repeat(64), 'x'), seen('job-check-1', 'b'.repeat(64), 'y'), seen('job-check-2', 'd'.repeat(64), 'y')].map((r) => [r.jobId, r]));
  const verdict = (runs: FrameOf<'job.verdict'>['runs']): FrameOf<'job.verdict'> => ({ v: 1, type: 'job.verdict', jobId: 'job-primary', policy: { kind: 'redundant', k: 2 }, runs });
  const lookup = (jobId: string) => relayed.get(jobId);
  it('accepts a majority against the run whose output differs', () => {
    const runs = checkVerdictAgainstResults(verdict([{ jobId: 'job-primary', provider: 'a'.repeat(64), verdict: 'failed' }, { jobId: 'job-check-1', provider: 'b'.repeat(64), verdict: 'verified' }, { jobId: 'job-check-2', provider: 'd'.repeat(64), verdict: 'verified' }]), client, lookup);
    assert.equal(runs.length, 3);
  });
  const refused: Array<[string, FrameOf<'job.verdict'>['runs'], string]> = [
    ['a run it did not relay', [{ jobId: 'job-primary', provider: 'a'.repeat(64), verdict: 'unchecked' }, { jobId: 'job-unknown', provider: 'b'.repeat(64), verdict: 'verified' }], client],
    ['another client', [{ jobId: 'job-primary', provider: 'a'.repeat(64), verdict: 'unchecked' }], 'f'.repeat(64)],
    ['blame without a majority', [{ jobId: 'job-primary', provider: 'a'.repeat(64), verdict: 'failed' }, { jobId: 'job-check-1', provider: 'b'.repeat(64), verdict: 'verified' }], client],
    ['blame of a run whose signed output equals a verified one', [{ jobId: 'job-primary', provider: 'a'.repeat(64), verdict: 'verified' }, { jobId: 'job-check-1', provider: 'b'.repeat(64), verdict: 'failed' }, { jobId: 'job-check-2', provider: 'd'.repeat(64), verdict: 'verified' }], client],
    ['the wrong provider named for a run', [{ jobId: 'job-primary', provider: 'b'.repeat(64), verdict: 'unchecked' }], client],
  ];
  for (const [rule, runs, by] of refused) it(`refuses ${rule}`, () => assert.throws(() => checkVerdictAgainstResults(verdict(runs), by, lookup), VerdictRejectedError));
});
