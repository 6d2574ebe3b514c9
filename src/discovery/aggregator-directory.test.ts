// The directory's bookkeeping with real signed and verified aggregator records (a network of thousands of gossiping
// keys does not fit a unit test: the bound is shown at a size of 4).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateNodeKey } from '../identity/index.js';
import { AggregatorDirectory } from './aggregator-directory.js';
import { createAggregatorRecord, verifyAggregatorRecord, type AggregatorRecord } from './aggregator-record.js';
import { deriveLibp2pKey } from './libp2p-key.js';
import { createPeerBinding } from './peer-binding.js';

const NOW = Date.UTC(2026, 0, 1);
const TTL = 60_000;

async function signedBy(count: number, issuedAt = NOW): Promise<AggregatorRecord[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const key = generateNodeKey();
      const { privateKey, peerId } = await deriveLibp2pKey(key);
      const binding = await createPeerBinding(key, privateKey, peerId);
      const input = { endpoint: `ws://127.0.0.1:${7000 + index}`, feeBps: 0, models: ['stories260K'], load: { providers: 1, activeJobs: 0 }, software: { infernet: '0.1.0' }, protocolVersion: 1 };
      const { event } = createAggregatorRecord({ key, peerId, binding, input, ttlMs: TTL, now: issuedAt });
      return (await verifyAggregatorRecord(event, { now: issuedAt, expectedPeerId: peerId })).record;
    }),
  );
}

describe('the aggregators a node keeps', () => {
  it('keeps no new key past its bound while every place holds a live record, and known ones keep updating', async () => {
    const directory = new AggregatorDirectory(4);
    const [first, ...others] = await signedBy(6);
    assert.equal(directory.keep(first!, 'gossip', NOW)?.added, true);
    for (const record of others.slice(0, 3)) assert.equal(directory.keep(record, 'gossip', NOW)?.added, true);
    assert.equal(directory.keep(others[3]!, 'gossip', NOW + 1), undefined, 'a fifth key finds no place');
    assert.equal(directory.keep(others[4]!, 'dht', NOW + 1), undefined);
    assert.equal(directory.size, 4);
    const renewed = { ...first!, issuedAt: NOW + 10, expiresAt: NOW + 10 + TTL };
    assert.equal(directory.keep(renewed, 'gossip', NOW + 10)?.added, false, 'a known aggregator still updates');
    assert.equal(directory.list(NOW + 10).find((known) => known.peerId === first!.peerId)?.record.issuedAt, NOW + 10);
  });

  it('gives a lapsed record its place up to a new key, and never lets a replayed older record replace a newer one', async () => {
    const directory = new AggregatorDirectory(2);
    const [a, b] = await signedBy(2, NOW);
    const [late] = await signedBy(1, NOW + TTL);
    directory.keep(a!, 'gossip', NOW);
    directory.keep(b!, 'gossip', NOW);
    assert.equal(directory.keep(late!, 'gossip', NOW + TTL / 2), undefined, 'both places still live');
    assert.equal(directory.keep(late!, 'gossip', NOW + TTL + 1)?.added, true, 'the lapsed ones gave their places up');
    assert.deepEqual(directory.list(NOW + TTL + 1).map((known) => known.peerId), [late!.peerId]);
    const newer = { ...late!, issuedAt: late!.issuedAt + 5 };
    directory.keep(newer, 'gossip', NOW + TTL + 2);
    assert.equal(directory.keep(late!, 'gossip', NOW + TTL + 3)?.known.record.issuedAt, newer.issuedAt);
  });
});
