// Attack 10 of the threat model: whitewashing and floods. A provider caught lying takes a fresh key and outranks
// the caught one; a provider whose runs were never checked vouches for a sybil; a flood of ratings from fresh keys
// pushes the ratings of this node and its trusted raters out of what is kept (in memory and in PocketBase, real).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateNodeKey, type NodeKey } from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import { rankProviders, type ProviderCandidate } from '../../src/aggregator/provider-selection.js';
import { createJobOutcomeEvent, PocketBaseReputationLedger, ReputationService, scoreProviders, verifyJobOutcomeEvent, type JobOutcomeReport } from '../../src/reputation/index.js';
import { usePocketBaseFixture } from '../../src/storage/test-fixture.js';

const pocketBase = usePocketBaseFixture();
const outcome = (provider: string, kind: JobOutcomeReport['outcome']): JobOutcomeReport => ({ provider, jobId: randomUUID(), resultEventId: 'e'.repeat(64), outcome: kind, policy: 'sampled:0.1', model: 'stories260K' });
const candidate = (id: string, reputation: number | undefined): ProviderCandidate => ({ id, capabilities: { models: [{ name: 'stories260K' }], slots: 1 }, activeJobs: 0, ...(reputation !== undefined ? { reputation } : {}) });

describe('attack 10: whitewashing and floods', () => {
  it('a fresh key ranks below a provider with checked work that was caught once', async () => {
    const aggregator = generateNodeKey();
    const service = await ReputationService.start({ key: aggregator, logger: silentLogger() });
    const proven = generateNodeKey().publicKey;
    // Six checked runs and one caught lie (free jobs): mostly honest, and the aggregator knows it.
    for (let i = 0; i < 6; i++) await service.record(outcome(proven, "verified"));
    await service.record(outcome(proven, 'failed'));
    const whitewashed = generateNodeKey().publicKey;
    const ranked = rankProviders([candidate(whitewashed, service.scoreOf(whitewashed)), candidate(proven, service.scoreOf(proven))], { model: { name: 'stories260K' } });
    assert.deepEqual(ranked.map((entry) => entry.id), [proven, whitewashed], `proven ${service.scoreOf(proven)}, fresh key ${service.scoreOf(whitewashed)}`);
    await service.stop();
  });

  it('unchecked runs earn no standing: a provider only ever "completed" cannot vouch for a sybil', () => {
    const self = generateNodeKey();
    const unchecked = generateNodeKey();
    const sybil = generateNodeKey().publicKey;
    const now = Date.now();
    const ratings = [
      ...Array.from({ length: 200 }, () => createJobOutcomeEvent(self, outcome(unchecked.publicKey, 'completed'))),
      ...Array.from({ length: 20 }, () => createJobOutcomeEvent(unchecked, outcome(sybil, 'verified'))),
    ].map((event) => verifyJobOutcomeEvent(event, now + 60_000));
    const scores = scoreProviders(ratings, { self: self.publicKey, trusted: [], now });
    assert.equal(scores.get(unchecked.publicKey)?.standing ?? 0, 0, 'no standing from unchecked work');
    assert.equal(scores.get(sybil), undefined, 'the sybil gained no evidence');
  });

  it('a flood of ratings from fresh keys neither evicts anchored ratings (in memory and in PocketBase) nor lifts a fresh key above a proven one', async () => {
    const { server } = await pocketBase();
    const aggregator = generateNodeKey();
    const trusted = generateNodeKey();
    const ledger = new PocketBaseReputationLedger(server.client);
    // A small cap stands for the default 50,000: signing and verifying 50,000 events costs minutes of CPU. The rule
    // is the same at any size (reputation-retention.test.ts applies it to 60,000 ratings).
    const maxRatings = 200;
    const options = { key: aggregator, logger: silentLogger(), ledger, trusted: [trusted.publicKey], maxRatings };
    const service = await ReputationService.start(options);
    const proven = generateNodeKey().publicKey;
    for (let i = 0; i < 10; i++) await service.record(outcome(proven, 'verified'));
    for (let i = 0; i < 5; i++) assert.equal(await service.receive(createJobOutcomeEvent(trusted, outcome(proven, 'verified')), 'relay'), true);
    const anchored = service.ratingsOf(proven).length;
    assert.equal(anchored, 15);

    // The flood: fresh keys praising a fresh key, some from one key many times, most from a key each.
    const sybil = generateNodeKey().publicKey;
    const loud = generateNodeKey();
    for (let i = 0; i < 100; i++) await service.receive(createJobOutcomeEvent(loud, outcome(sybil, 'verified')), 'gossip');
    const flood: NodeKey[] = Array.from({ length: 2 * maxRatings }, () => generateNodeKey());
    for (const key of flood) await service.receive(createJobOutcomeEvent(key, outcome(sybil, 'verified')), 'gossip');

    assert.ok(service.size <= maxRatings, `${service.size} ratings held, over the cap of ${maxRatings}`);
    assert.equal(service.ratingsOf(proven).length, anchored, 'the anchored ratings survive the flood in memory');
    assert.ok(service.ratingsOf(sybil).filter((rating) => rating.rater === loud.publicKey).length <= 32, 'one rater without standing keeps a bounded share');
    assert.ok(service.scoreOf(proven)! > service.scoreOf(sybil)!, `proven ${service.scoreOf(proven)} above the flooded sybil ${service.scoreOf(sybil)}`);
    await service.stop();

    const restarted = await ReputationService.start(options);
    assert.equal(restarted.ratingsOf(proven).length, anchored, 'and in PocketBase: a restart still reads them');
    const rows = await server.client.collection('reputation_events').getList(1, 1, { skipTotal: false });
    assert.ok(rows.totalItems <= maxRatings, `${rows.totalItems} rows stored, over the cap of ${maxRatings}`);
    assert.ok(restarted.scoreOf(proven)! > restarted.scoreOf(sybil)!);
    await restarted.stop();
  });
});
