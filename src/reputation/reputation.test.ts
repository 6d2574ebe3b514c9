import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateNodeKey, type NodeKey } from '../identity/index.js';
import { createJobOutcomeEvent, EVENT_KIND_JOB_OUTCOME, ReputationEventRejectedError, verifyJobOutcomeEvent, type JobOutcomeReport, type JobRating } from './reputation-event.js';
import { MAX_WEIGHT_PER_RATER, scoreProviders, UNPROVEN_SCORE, valueWeight } from './reputation-score.js';
import { jobValueOf } from './outcome-report.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 10, 25);
const hex = (c: string) => c.repeat(64);
let jobs = 0;
const report = (provider: string, outcome: JobOutcomeReport['outcome'], value?: string): JobOutcomeReport => ({
  provider,
  jobId: `job-${String(++jobs).padStart(6, "0")}`,
  resultEventId: hex('e'),
  outcome,
  policy: 'sampled:0.1',
  model: 'stories260K',
  outputHash: hex('0'),
  ...(value ? { value: { amount: value, currency: 'USDC' } } : {}),
});
const rate = (rater: NodeKey, provider: string, outcome: JobOutcomeReport['outcome'], atMs = NOW, value?: string): JobRating =>
  verifyJobOutcomeEvent(createJobOutcomeEvent(rater, report(provider, outcome, value), Math.floor(atMs / 1000)), NOW);

describe('job outcome events (kind 7950)', () => {
  const aggregator = generateNodeKey();
  const provider = generateNodeKey().publicKey;
  it('round-trips: signed by the rater, about the provider, with outcome, policy and value', () => {
    const rating = rate(aggregator, provider, 'failed', NOW, '0.02');
    assert.equal(rating.event.kind, EVENT_KIND_JOB_OUTCOME);
    assert.deepEqual([rating.rater, rating.provider, rating.outcome, rating.policy, rating.value, rating.currency], [aggregator.publicKey, provider, 'failed', 'sampled:0.1', 0.02, 'USDC']);
  });
  const event = createJobOutcomeEvent(aggregator, report(provider, 'verified'), Math.floor(NOW / 1000));
  const refused: Array<[string, unknown]> = [
    ['a tampered outcome tag (signature no longer matches)', { ...event, tags: event.tags.map((tag) => (tag[0] === 'outcome' ? ['outcome', 'failed'] : tag)) }],
    ['a forged signature', { ...event, sig: 'ab'.repeat(64) }],
    ['an event claiming another signer', { ...event, pubkey: generateNodeKey().publicKey }],
    ['another kind', createJobOutcomeEvent(aggregator, report(provider, 'verified'), Math.floor(NOW / 1000)) && { ...event, kind: 1 }],
    ['a provider rating itself', createJobOutcomeEvent(aggregator, report(aggregator.publicKey, 'verified'))],
    ['an event dated an hour ahead', createJobOutcomeEvent(aggregator, report(provider, 'verified'), Math.floor(NOW / 1000) + 3600)],
    ['an unknown outcome', createJobOutcomeEvent(aggregator, { ...report(provider, 'verified'), outcome: 'great' as never })],
    ['a repeated tag', { ...createJobOutcomeEvent(aggregator, report(provider, 'verified')), tags: [...event.tags, ['p', provider]] }],
    ['something that is not an event', { hello: 'world' }],
  ];
  for (const [what, input] of refused) it(`refuses ${what}`, () => assert.throws(() => verifyJobOutcomeEvent(input, NOW), ReputationEventRejectedError));
});

describe('scoreProviders', () => {
  const self = generateNodeKey();
  const trusted = generateNodeKey();
  const honest = generateNodeKey().publicKey;
  const liar = generateNodeKey().publicKey;
  const options = { self: self.publicKey, trusted: [trusted.publicKey], now: NOW };

  it('starts a key without evidence low (UNPROVEN_SCORE, 0.2) and lifts it with verified jobs', () => {
    assert.equal(scoreProviders([], options).get(honest), undefined);
    assert.equal(UNPROVEN_SCORE, 0.2);
    const scores = scoreProviders(Array.from({ length: 10 }, () => rate(self, honest, 'verified', NOW, '1')), options);
    assert.ok(scores.get(honest)!.score > 0.7);
  });

  it('a caught lie outweighs several verified jobs', () => {
    const ratings = [...Array.from({ length: 3 }, () => rate(self, liar, 'verified')), rate(self, liar, 'failed')];
    const caught = scoreProviders(ratings, options).get(liar)!.score;
    assert.ok(caught < 0.5 && caught < scoreProviders(ratings.slice(0, 3), options).get(liar)!.score, `${caught}`);
  });

  it('a swarm of fresh identities praising each other and blaming an honest provider moves nothing', () => {
    const swarm = Array.from({ length: 12 }, () => generateNodeKey());
    const ratings = [rate(self, honest, 'verified'), rate(self, honest, 'verified')];
    const before = scoreProviders(ratings, options);
    for (const rater of swarm) {
      for (const friend of swarm) if (friend !== rater) ratings.push(rate(rater, friend.publicKey, 'verified', NOW, '100'));
      ratings.push(rate(rater, honest, 'failed', NOW, '100'));
    }
    const after = scoreProviders(ratings, options);
    assert.equal(after.get(honest)!.score, before.get(honest)!.score);
    for (const member of swarm) assert.equal(after.get(member.publicKey)?.score ?? UNPROVEN_SCORE, UNPROVEN_SCORE);
  });

  it('weighs a trusted rater fully and an unknown one not at all', () => {
    const stranger = generateNodeKey();
    assert.ok(scoreProviders([rate(trusted, liar, 'failed')], options).get(liar)!.score < UNPROVEN_SCORE);
    assert.equal(scoreProviders([rate(stranger, liar, 'failed')], options).get(liar)?.score ?? UNPROVEN_SCORE, UNPROVEN_SCORE);
  });

  it('lets a provider well rated by this node vouch for others, in proportion to its record', () => {
    const vouching = generateNodeKey();
    const ratings = [...Array.from({ length: 20 }, () => rate(self, vouching.publicKey, 'verified', NOW, '1')), rate(vouching, liar, 'failed')];
    const scores = scoreProviders(ratings, options);
    // Twenty checked jobs against the low prior: standing a little under a half (it nears 1 with more evidence).
    assert.ok(scores.get(vouching.publicKey)!.standing > 0.4);
    const liarScore = scores.get(liar)!.score;
    assert.ok(liarScore < UNPROVEN_SCORE && liarScore > scoreProviders([rate(self, liar, 'failed')], options).get(liar)!.score, 'less than a failure seen by this node itself');
  });

  it('decays with age: a failure a year ago weighs less than one today', () => {
    const old = scoreProviders([rate(self, liar, 'failed', NOW - 365 * DAY), rate(self, liar, 'verified')], options).get(liar)!.score;
    const recent = scoreProviders([rate(self, liar, 'failed'), rate(self, liar, 'verified', NOW - 365 * DAY)], options).get(liar)!.score;
    assert.ok(old > recent, `${old} > ${recent}`);
  });

  it('weighs a valuable job more than a free one', () => {
    assert.ok(valueWeight(1) > valueWeight(0.001) && valueWeight(0.001) > valueWeight(0));
    const cheap = scoreProviders([rate(self, liar, 'failed', NOW)], options).get(liar)!.score;
    const dear = scoreProviders([rate(self, liar, 'failed', NOW, '5')], options).get(liar)!.score;
    assert.ok(dear < cheap);
  });

  it("caps one rater's say about one provider", () => {
    const ratings = Array.from({ length: 40 }, () => rate(self, honest, 'verified', NOW, '10'));
    assert.ok(scoreProviders(ratings, options).get(honest)!.positive <= MAX_WEIGHT_PER_RATER);
  });

  it('counts one rating per rater and job: re-rating a job replaces the earlier rating', () => {
    const first = rate(self, liar, 'verified', NOW - 1000);
    const again = verifyJobOutcomeEvent(createJobOutcomeEvent(self, { ...report(liar, 'failed'), jobId: first.jobId }, Math.floor(NOW / 1000)), NOW);
    assert.equal(scoreProviders([first, again], options).get(liar)!.ratings, 1);
  });
});

describe('jobValueOf', () => {
  it('prices per thousand tokens or per job', () => {
    assert.deepEqual(jobValueOf({ amount: '0.01', currency: 'USDC', per: '1k_tokens' }, 500), { amount: '0.005', currency: 'USDC' });
    assert.deepEqual(jobValueOf({ amount: '2', currency: 'sat', per: 'job' }, 500), { amount: '2', currency: 'sat' });
    assert.equal(jobValueOf(undefined, 10), undefined);
  });
});
