import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FrameOf, TokenFingerprint } from '../protocol/index.js';
import { checkVerdictAgainstResults, VerdictRejectedError, type WitnessedRun } from './check-verdict.js';
import { independentVerdicts, type JudgedRun } from './independent-blame.js';
import { compareRuns, type ComparableRun } from './compare-runs.js';
import { cryptoRandom, seededRandom } from './seeded-random.js';
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
  it('draws sampled(p) from crypto randomness in [0, 1) (it threw on every call before: randomInt cannot span 2^48)', () => {
    const draws = Array.from({ length: 10_000 }, () => cryptoRandom());
    assert.ok(draws.every((x) => x >= 0 && x < 1));
    const checked = draws.filter((x) => x < 0.1).length;
    assert.ok(checked > 800 && checked < 1200, `checked ${checked} of 10,000`);
    assert.equal(typeof initialRunCount({ kind: 'sampled', p: 0.5 }, cryptoRandom), 'number');
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
  const [A, B, D, E] = ['a', 'b', 'd', 'e'].map((c) => c.repeat(64)) as [string, string, string, string];
  const lie = [fp(3, -0.2), fp(3, -0.2), fp(3, -0.2)];
  /** A relayed run as the aggregator keeps it: the fingerprint hash its provider signed, and how it was matched. */
  const seen = (jobId: string, provider: string, outputHash: string, fingerprints: TokenFingerprint[], extra: Partial<WitnessedRun> = {}): WitnessedRun => ({
    jobId, provider, client, model: 'stories260K', outputHash, fingerprintHash: fingerprintHash(fingerprints), resultEventId: 'e'.repeat(64), tokens: 3, ...extra,
  });
  // Another provider's honest run (other hardware): a near-tie at token 1 takes it another way (compareRuns agrees).
  const honestB = [fp(5, -0.11, [[5, -0.11], [7, -2.4]]), fp(4, -0.32, [[4, -0.32], [9, -0.34]])];
  const relayed = new Map(
    [
      seen('job-primary', A, 'lie', lie),
      seen('job-check-1', B, 'h-b', honestB, { checkOf: 'job-primary' }),
      seen('job-check-2', D, 'h-d', honest, { checkOf: 'job-primary' }),
      // A job the client ran on a provider it named: not a check the aggregator drew.
      seen('job-named', E, 'h-e', honest),
    ].map((r) => [r.jobId, r]),
  );
  const fingerprintsOf = new Map<string, TokenFingerprint[]>([['job-primary', lie], ['job-check-1', honestB], ['job-check-2', honest], ['job-named', honest]]);
  type Run = FrameOf<'job.verdict'>['runs'][number];
  const r = (jobId: string, verdict: Run['verdict'], evidence = true): Run => ({ jobId, provider: relayed.get(jobId)?.provider ?? B, verdict, ...(evidence ? { fingerprints: fingerprintsOf.get(jobId)! } : {}) });
  const verdict = (runs: Run[], jobId = 'job-primary'): FrameOf<'job.verdict'> => ({ v: 1, type: 'job.verdict', jobId, policy: { kind: 'redundant', k: 2 }, runs });
  const lookup = (jobId: string) => relayed.get(jobId);
  const checks = { awaiting: ['job-check-1', 'job-check-2'] };

  it('fails a run when two drawn checks agree against it, by its own comparison of the fingerprints sent', () => {
    const runs = checkVerdictAgainstResults(verdict([r('job-primary', 'failed'), r('job-check-1', 'verified'), r('job-check-2', 'verified')]), client, lookup, checks);
    assert.equal(runs.length, 3);
  });
  it('accepts a verdict that blames nobody without any fingerprints', () => {
    checkVerdictAgainstResults(verdict([r('job-primary', 'inconclusive', false), r('job-check-1', 'inconclusive', false), r('job-check-2', 'inconclusive', false)]), client, lookup, checks);
  });
  const refused: Array<[string, Run[], string, RegExp, Partial<typeof checks & { withdrawn: boolean }>?]> = [
    ['a run it did not relay', [r('job-primary', 'unchecked'), { jobId: 'job-unknown', provider: B, verdict: 'verified' }], client, /not relayed here/],
    ['another client', [r('job-primary', 'unchecked')], 'f'.repeat(64), /not relayed here/],
    ['blame without a majority', [r('job-primary', 'failed'), r('job-check-1', 'verified')], client, /majority/, { awaiting: ['job-check-1'] }],
    ['the wrong provider named for a run', [{ jobId: 'job-primary', provider: B, verdict: 'unchecked' }], client, /another provider/],
    // Attack 3: the client names the providers of its checks (its sybils): a run the aggregator did not draw as a check of this job is no evidence.
    ['a run that is not a check drawn for this job', [r('job-primary', 'failed'), r('job-check-1', 'verified'), r('job-named', 'verified')], client, /not a check this aggregator drew/, { awaiting: ['job-check-1'] }],
    ['a check left out (the one that agreed with the blamed run)', [r('job-primary', 'failed'), r('job-check-1', 'verified')], client, /left out/],
    ['blame without the fingerprints', [r('job-primary', 'failed', false), r('job-check-1', 'verified', false), r('job-check-2', 'verified', false)], client, /must send every run's fingerprints/],
    ['fingerprints other than those the provider signed', [r('job-primary', 'failed'), r('job-check-1', 'verified'), { ...r('job-check-2', 'verified'), fingerprints: honestB }], client, /not the ones its provider signed/],
    ['blame after a check was cancelled before its result', [r('job-primary', 'failed'), r('job-check-1', 'verified'), r('job-check-2', 'verified')], client, /cancelled/, { withdrawn: true }],
  ];
  for (const [rule, runs, by, reason, context] of refused) it(`refuses ${rule}`, () => assert.throws(() => checkVerdictAgainstResults(verdict(runs), by, lookup, { ...checks, ...context }), (error: unknown) => error instanceof VerdictRejectedError && reason.test(error.message)));

  it('refuses to fail an honest run that the drawn runs agree with, whatever the client says (a framing verdict)', () => {
    const honestRuns = new Map([seen('job-h', A, 'h-a', honest), seen('job-h-1', B, 'h-b', honestB, { checkOf: 'job-h' }), seen('job-h-2', D, 'lie', lie, { checkOf: 'job-h' }), seen('job-h-3', E, 'lie', lie, { checkOf: 'job-h' })].map((x) => [x.jobId, x]));
    const prints = new Map([['job-h', honest], ['job-h-1', honestB], ['job-h-2', lie], ['job-h-3', lie]]);
    const run = (jobId: string, v: Run['verdict']): Run => ({ jobId, provider: honestRuns.get(jobId)!.provider, verdict: v, fingerprints: prints.get(jobId)! });
    const look = (jobId: string) => honestRuns.get(jobId);
    // The honest primary and its honest check agree: blaming the primary is refused though two lying checks outnumber them.
    assert.throws(() => checkVerdictAgainstResults(verdict([run('job-h', 'failed'), run('job-h-1', 'failed'), run('job-h-2', 'verified'), run('job-h-3', 'verified')], 'job-h'), client, look, { awaiting: ['job-h-1', 'job-h-2', 'job-h-3'] }), /majority/);
    // Two drawn liars that agree with each other do outvote one honest run: the limit a random draw bounds (two sybils drawn twice).
    checkVerdictAgainstResults(verdict([run('job-h', 'failed'), run('job-h-2', 'verified'), run('job-h-3', 'verified')], 'job-h'), client, look, { awaiting: ['job-h-2', 'job-h-3'] });
  });
});

describe('independentVerdicts (whom the client may blame)', () => {
  const judged = (drawn: boolean[], prints: TokenFingerprint[][]): JudgedRun[] => prints.map((f, i) => ({ ...run(JSON.stringify(f), f), drawn: drawn[i]! }));
  const lie = [fp(3, -0.2), fp(3, -0.2), fp(3, -0.2)];
  it('keeps the blame of a primary outvoted by two checks', () => assert.deepEqual(independentVerdicts(judged([false, true, true], [lie, honest, honest]), ['failed', 'verified', 'verified']), ['failed', 'verified', 'verified']));
  it('blames no check outvoted by the primary and one other check', () => assert.deepEqual(independentVerdicts(judged([false, true, true], [honest, lie, honest]), ['verified', 'failed', 'verified']), ['verified', 'inconclusive', 'verified']));
  it('blames a check outvoted by two other checks (redundant(3) and more)', () => assert.deepEqual(independentVerdicts(judged([false, true, true, true], [honest, lie, honest, honest]), ['verified', 'failed', 'verified', 'verified']), ['verified', 'failed', 'verified', 'verified']));
});
