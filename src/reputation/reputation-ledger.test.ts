// The reputation history survives a restart, in PocketBase (real backend) and in the file store, and an event
// heard twice (from a relay and from gossip) is kept once.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateNodeKey } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import { usePocketBaseFixture } from '../storage/test-fixture.js';
import { createJobOutcomeEvent } from './reputation-event.js';
import { FileReputationLedger, PocketBaseReputationLedger, type ReputationLedger } from './reputation-ledger.js';
import { ReputationService } from './reputation-service.js';

const pocketBase = usePocketBaseFixture();
const aggregator = generateNodeKey();
const provider = generateNodeKey().publicKey;
const peerAggregator = generateNodeKey();

async function exercise(openLedger: () => Promise<ReputationLedger>): Promise<void> {
  const first = await ReputationService.start({ key: aggregator, logger: silentLogger(), ledger: await openLedger(), trusted: [peerAggregator.publicKey] });
  const rated = { provider, jobId: randomUUID(), resultEventId: 'e'.repeat(64), outcome: 'failed', policy: 'redundant:2', model: 'stories260K', value: { amount: '0.02', currency: 'USDC' } } as const;
  const { rating } = await first.record(rated);
  const heard = createJobOutcomeEvent(peerAggregator, { provider, jobId: randomUUID(), resultEventId: 'e'.repeat(64), outcome: 'completed', policy: 'none', model: 'stories260K' });
  assert.equal(await first.receive(heard, 'relay'), true);
  assert.equal(await first.receive(heard, 'gossip'), false, 'the same event again is not new');
  const score = first.scoreOf(provider);
  await first.stop();

  // Restarted a few seconds later: a rating signed now would be another event, not the same one again.
  const restarted = await ReputationService.start({ key: aggregator, logger: silentLogger(), ledger: await openLedger(), trusted: [peerAggregator.publicKey], now: () => Date.now() + 5_000 });
  assert.deepEqual(restarted.ratingsOf(provider).map((rating) => [rating.outcome, rating.via]).sort(), [['completed', 'relay'], ['failed', 'local']]);
  assert.ok(Math.abs(restarted.scoreOf(provider)! - score!) < 1e-6, "the same score (up to a few milliseconds of decay)");
  assert.equal(await restarted.receive(heard, 'gossip'), false, 'known after the restart too');
  // The job event feed hands a run's verdict to the rating again after a crash: the run keeps its one rating.
  assert.equal((await restarted.record(rated)).rating.eventId, rating.eventId);
  assert.equal(restarted.ratingsOf(provider).length, 2);
  await restarted.stop();
}

describe('reputation history across restarts', () => {
  it('is kept in PocketBase (reputation_events, migration 1751000003)', async () => {
    const { server } = await pocketBase();
    await exercise(async () => new PocketBaseReputationLedger(server.client));
    const rows = await server.client.collection('reputation_events').getFullList({ filter: `provider = "${provider}"` });
    assert.equal(rows.length, 2, 'one row per event, the duplicate refused by the unique event id');
  });

  it('is kept in reputation.jsonl beside a file store, skipping a line torn by a crash', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'infernet-reputation-')), 'reputation.jsonl');
    await exercise(async () => new FileReputationLedger(path));
    await appendFile(path, '{"via":"relay","event":{"id":"ab');
    const ratings = await new FileReputationLedger(path).load();
    assert.equal(ratings.length, 2);
  });
});

describe('a bounded reputation store', () => {
  const other = generateNodeKey();
  const rated = async (ledger: ReputationLedger) => {
    const provider = generateNodeKey().publicKey;
    const anchored = createJobOutcomeEvent(aggregator, { provider, jobId: randomUUID(), resultEventId: 'e'.repeat(64), outcome: 'verified', policy: 'none', model: 'stories260K' }, Math.floor(Date.now() / 1000) - 60);
    const fresh = createJobOutcomeEvent(other, { provider, jobId: randomUUID(), resultEventId: 'e'.repeat(64), outcome: 'verified', policy: 'none', model: 'stories260K' });
    const service = await ReputationService.start({ key: aggregator, logger: silentLogger(), ledger });
    assert.equal(await service.receive(anchored, 'relay'), true);
    assert.equal(await service.receive(fresh, 'gossip'), true);
    await service.stop();
    // The older rating of this node comes first when it is preferred; the newest first otherwise.
    assert.deepEqual((await ledger.load({ provider, limit: 1, preferRaters: [aggregator.publicKey] })).map((rating) => rating.eventId), [anchored.id]);
    assert.deepEqual((await ledger.load({ provider, limit: 1 })).map((rating) => rating.eventId), [fresh.id]);
    await ledger.remove([fresh.id, 'f'.repeat(64)]);
    assert.deepEqual((await ledger.load({ provider })).map((rating) => rating.eventId), [anchored.id], 'an evicted rating is dropped from the store, an unknown id ignored');
  };

  it('loads preferred raters first and drops evicted ratings, in PocketBase', async () => {
    const { server } = await pocketBase();
    await rated(new PocketBaseReputationLedger(server.client));
  });

  it('loads preferred raters first and drops evicted ratings, in reputation.jsonl', async () => {
    await rated(new FileReputationLedger(join(await mkdtemp(join(tmpdir(), 'infernet-reputation-')), 'reputation.jsonl')));
  });
});
