// A statistical test with a fixed seed: the real policy draw, settlement, signed outcome events, scoring and the
// aggregator's ranking, over a simulated stream of jobs (outputs are hashes, not generations: the engine's part is
// proven by the end-to-end suites). One provider lies on 20% of its runs; jobs run under sampled(0.1).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateNodeKey } from '../identity/index.js';
import { rankProviders, type ProviderCandidate } from './provider-selection.js';
import { independentVerdicts, initialRunCount, seededRandom, settleRuns, type ComparableRun, type RandomSource } from '../verification/index.js';
import { createJobOutcomeEvent, verifyJobOutcomeEvent, type JobOutcomeKind, type JobRating } from '../reputation/reputation-event.js';
import { scoreProviders } from '../reputation/reputation-score.js';

const SEED = 20261125;
const JOBS = 1200;
/**
 * The liar must be caught and ranked below every honest provider within this many jobs. Each job is assigned to one
 * of four providers at random; a lie is caught when the liar runs the primary (1/4), the job is drawn for a check
 * (p = 0.1) and the run lies (0.2): a run is blamed only when two checks agree against it, so a liar that lies as a
 * checker is outvoted but not blamed (independent-blame.ts). About 0.5% of all jobs, so it goes uncaught past 1,000
 * jobs with probability about 0.995^1000 = 0.7%. This seed's stream catches it at the job printed below.
 */
const BOUND_JOBS = 1000;
const LIE_RATE = 0.2;
const POLICY = { kind: 'sampled', p: 0.1 } as const;

interface SimProvider {
  key: string;
  lies: boolean;
}

describe('sampled(0.1) against a provider lying on 20% of jobs (fixed seed, simulated jobs)', () => {
  it(`catches the liar and ranks it below every honest provider within ${BOUND_JOBS} jobs, and keeps it there`, () => {
    const aggregator = generateNodeKey();
    const random = seededRandom(SEED);
    const liar: SimProvider = { key: generateNodeKey().publicKey, lies: true };
    const providers: SimProvider[] = [liar, ...Array.from({ length: 3 }, () => ({ key: generateNodeKey().publicKey, lies: false }))];
    const ratings: JobRating[] = [];
    let caughtAt: number | undefined;
    let belowAt: number | undefined;
    for (let job = 1; job <= JOBS; job++) {
      const outcomes = runJob(job, providers, random);
      for (const [provider, outcome] of outcomes) {
        if (provider === liar && outcome === 'failed') caughtAt ??= job;
        const event = createJobOutcomeEvent(aggregator, { provider: provider.key, jobId: `sim-job-${job}-${provider.key.slice(0, 8)}`, resultEventId: hash(`result ${job}`), outcome, policy: 'sampled:0.1', model: 'stories260K' }, 1_790_000_000 + job);
        ratings.push(verifyJobOutcomeEvent(event, 1_790_002_000_000));
      }
      const ranked = rankByReputation(providers, scoreProviders(ratings, { self: aggregator.publicKey, trusted: [], now: 1_790_002_000_000 }));
      const liarBelowAll = ranked.at(-1) === liar.key;
      if (liarBelowAll && belowAt === undefined && caughtAt !== undefined) belowAt = job;
      if (belowAt !== undefined) assert.ok(liarBelowAll, `the liar climbed back above an honest provider at job ${job}`);
    }
    console.log(`seed ${SEED}: liar first caught at job ${caughtAt}, ranked below every honest provider from job ${belowAt} of ${JOBS}`);
    assert.ok(caughtAt !== undefined && caughtAt <= BOUND_JOBS, `caught at ${caughtAt}`);
    assert.ok(belowAt !== undefined && belowAt <= BOUND_JOBS, `below the honest providers from ${belowAt}`);
  });
});

/** One job: a random primary; with probability p a check by another provider; a third settles a disagreement. */
function runJob(job: number, providers: SimProvider[], random: RandomSource): Array<[SimProvider, JobOutcomeKind]> {
  const order = shuffled(providers, random);
  const planned = initialRunCount(POLICY, random);
  const runs = order.slice(0, planned);
  const outputs = runs.map((provider) => output(job, provider, random));
  let settled = settleRuns(outputs, planned > 1 ? planned + 1 : 1);
  if (settled.needsAnotherRun) {
    runs.push(order[planned]!);
    outputs.push(output(job, order[planned]!, random));
    settled = settleRuns(outputs, planned + 1);
  }
  const kindOf = { verified: 'verified', failed: 'failed', unchecked: 'completed', inconclusive: 'inconclusive' } as const;
  // As the client and the aggregator judge it: a run is blamed only when two checks (drawn runs) agree against it.
  const verdicts = independentVerdicts(outputs.map((run, i) => ({ ...run, drawn: i > 0 })), settled.verdicts!);
  return runs.map((provider, i) => [provider, kindOf[verdicts[i]!]]);
}

function output(job: number, provider: SimProvider, random: RandomSource): ComparableRun {
  const text = provider.lies && random() < LIE_RATE ? `a made-up answer to ${job} by ${provider.key}` : `the answer to ${job}`;
  return { outputHash: hash(text), tokenIds: [job % 512] };
}

/** The aggregator's own rule (src/aggregator/provider-selection.ts): same slots and price, so reputation decides. */
function rankByReputation(providers: SimProvider[], scores: ReturnType<typeof scoreProviders>): string[] {
  const candidates: ProviderCandidate[] = providers.map((provider) => ({
    id: provider.key,
    activeJobs: 0,
    capabilities: { models: [{ name: 'stories260K' }], slots: 1 },
    ...(scores.get(provider.key) ? { reputation: scores.get(provider.key)!.score } : {}),
  }));
  return rankProviders(candidates, { model: { name: 'stories260K' } }).map((candidate) => candidate.id);
}

function shuffled<T>(items: readonly T[], random: RandomSource): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
