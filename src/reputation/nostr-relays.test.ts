// Outcome events and a real Nostr relay (khatru, scripts/setup-relay.sh) on 127.0.0.1: a relay that was down when
// an event was recorded gets it once it comes up, and another node reads it from there.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { generateNodeKey } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import { ReputationService } from './reputation-service.js';
import { startTestRelay, type TestRelay } from './testing/test-relay.js';
import { freeLoopbackPort } from '../processes/index.js';


async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('outcome events through a real Nostr relay', () => {
  const started: Array<ReputationService | TestRelay> = [];
  after(async () => {
    for (const item of started.reverse()) await item.stop();
  });

  it('sends an event recorded while the relay was down once it comes up, and another node reads it there', async () => {
    const port = await freeLoopbackPort();
    const url = `ws://127.0.0.1:${port}`;
    const aggregator = generateNodeKey();
    const provider = generateNodeKey().publicKey;
    const publisher = await ReputationService.start({ key: aggregator, logger: silentLogger(), relays: [url], relayRetryMs: 200 });
    started.push(publisher);
    const { relays } = await publisher.record({ provider, jobId: randomUUID(), resultEventId: 'e'.repeat(64), outcome: 'failed', policy: 'redundant:2', model: 'stories260K' });
    assert.deepEqual(relays?.accepted ?? [], [], 'nothing to publish to while the relay is down');

    const relay = await startTestRelay(port);
    started.push(relay);
    const reader = await ReputationService.start({ key: generateNodeKey(), logger: silentLogger(), relays: [url], trusted: [aggregator.publicKey] });
    started.push(reader);
    await waitFor(() => reader.ratingsOf(provider).length === 1, 10_000, 'the reader to get the event from the relay');
    assert.deepEqual(reader.ratingsOf(provider).map((rating) => [rating.rater, rating.outcome, rating.via]), [[aggregator.publicKey, 'failed', 'relay']]);
    assert.ok(reader.scoreOf(provider)! < 0.5);
  });
});
