import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileFeedCursors, FileJobStore, JobEventFeed } from '../jobs/index.js';
import { silentLogger } from '../log/index.js';
import type { WitnessedRun } from '../verification/check-verdict.js';
import { uncheckedVerificationOf, verdictPatchOf, verifyingPatchOf } from '../verification/pending-verification.js';
import type { VerificationOutcome } from '../verification/verification-outcome.js';
import { ReputationFeedReader } from './reputation-feed-reader.js';

const [provider, client] = ['a', 'c'].map((c) => c.repeat(64)) as [string, string];
const run = (jobId: string): WitnessedRun => ({ jobId, provider, client, model: 'stories260K', outputHash: 'f'.repeat(64), resultEventId: 'e'.repeat(64), tokens: 12 });

/** An aggregator's node home, opened again as a restarted node opens it, with the ratings its reader makes. */
async function aggregatorHome() {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-rating-feed-'));
  const rated: VerificationOutcome[] = [];
  return {
    rated,
    store: () => new FileJobStore(join(dir, 'jobs.jsonl')),
    async follow(store: FileJobStore): Promise<JobEventFeed> {
      const feed = new JobEventFeed({ store, cursors: new FileFeedCursors(join(dir, 'cursors.json')), logger: silentLogger() });
      feed.follow(new ReputationFeedReader(async (outcome) => void rated.push(outcome)));
      await feed.start();
      return feed;
    },
  };
}

async function relay(store: FileJobStore, jobId: string): Promise<void> {
  await store.create({ jobId, role: 'aggregator', model: 'stories260K', client, provider, state: 'matched' });
  for (const to of ['dispatched', 'running'] as const) await store.transition(jobId, 'aggregator', to);
}

describe('ReputationFeedReader', () => {
  it('rates each run its verdict settled, from the persisted record, and none that ended without one', async () => {
    const home = await aggregatorHome();
    const store = home.store();
    const feed = await home.follow(store);
    // redundant(2): a run outvoted by its check.
    await relay(store, 'run-1');
    const verifying = verifyingPatchOf(run('run-1'), { kind: 'redundant', k: 2 }, Date.now(), 60_000);
    await store.transition('run-1', 'aggregator', 'verifying', verifying);
    await store.transition('run-1', 'aggregator', 'failed', verdictPatchOf(verifying.verification, 'failed', 'job-1'));
    // policy none: completed unchecked at once.
    await relay(store, 'run-2');
    await store.transition('run-2', 'aggregator', 'completed', { outputHash: 'f'.repeat(64), tokens: 12, verification: uncheckedVerificationOf(run('run-2'), Date.now()) });
    // a run that failed before any result: nothing to rate.
    await relay(store, 'run-3');
    await store.transition('run-3', 'aggregator', 'failed', { error: { code: 'provider_unreachable', message: 'gone' } });
    await feed.caughtUp();
    assert.deepEqual(
      home.rated.map((outcome) => [outcome.runJobId, outcome.jobId, outcome.verdict, outcome.policy.kind, outcome.provider, outcome.tokens]),
      [
        ['run-1', 'job-1', 'failed', 'redundant', provider, 12],
        ['run-2', 'run-2', 'unchecked', 'none', provider, 12],
      ],
    );
    await feed.close();
  });

  it('rates at the next start a run whose verdict came while the node was down', async () => {
    const home = await aggregatorHome();
    const before = await home.follow(home.store());
    await before.close();
    const other = home.store(); // the verdict's write, while no feed followed
    await relay(other, 'run-9');
    await other.transition('run-9', 'aggregator', 'completed', { outputHash: 'f'.repeat(64), tokens: 12, verification: uncheckedVerificationOf(run('run-9'), Date.now()) });
    const after = await home.follow(home.store());
    await after.caughtUp();
    assert.deepEqual(
      home.rated.map((outcome) => outcome.runJobId),
      ['run-9'],
    );
    await after.close();
  });
});
