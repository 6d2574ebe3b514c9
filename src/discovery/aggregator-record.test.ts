import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateNodeKey, signEnvelope, type NodeKey } from '../identity/index.js';
import type { NostrEvent } from '../protocol/index.js';
import { createAggregatorRecord, verifyAggregatorRecord, type AggregatorRecordInput } from './aggregator-record.js';
import { EVENT_KIND_AGGREGATOR_RECORD, EVENT_KIND_PROVIDER_RECORD } from './constants.js';
import { MalformedRecordError, PeerBindingError, PeerIdMismatchError, RecordExpiredError, RecordSignatureError } from './errors.js';
import { deriveLibp2pKey } from './libp2p-key.js';
import { createPeerBinding } from './peer-binding.js';

const NOW = Date.UTC(2026, 0, 1);
const TTL = 60_000;
const INPUT: AggregatorRecordInput = {
  endpoint: 'wss://aggregator.example:7420',
  feeBps: 250,
  models: ['stories260K'],
  load: { providers: 2, activeJobs: 1 },
  software: { infernet: '0.1.0' },
  protocolVersion: 1,
};

interface Identity {
  key: NodeKey;
  peerId: string;
  binding: NostrEvent;
}

async function identity(): Promise<Identity> {
  const key = generateNodeKey();
  const { privateKey, peerId } = await deriveLibp2pKey(key);
  return { key, peerId, binding: await createPeerBinding(key, privateKey, peerId) };
}

const sign = ({ key, peerId, binding }: Identity, input: Partial<AggregatorRecordInput> = {}, now = NOW) => createAggregatorRecord({ key, peerId, binding, input: { ...INPUT, ...input }, ttlMs: TTL, now });

describe('aggregator records', () => {
  it('verifies a record signed by its key and bound to its peer id, as delivered by that peer', async () => {
    const me = await identity();
    const { event, record } = sign(me);
    const verified = await verifyAggregatorRecord(event, { now: NOW + 1000, expectedPeerId: me.peerId });
    assert.deepEqual(verified.record, record);
    assert.equal(event.kind, EVENT_KIND_AGGREGATOR_RECORD);
  });

  it('refuses a record whose content was changed after signing (a cheaper fee written in by a relay)', async () => {
    const { event } = sign(await identity());
    const tampered = { ...event, content: event.content.replace('"feeBps":250', '"feeBps":0') };
    await assert.rejects(verifyAggregatorRecord(tampered, { now: NOW }), RecordSignatureError);
  });

  it('refuses a record that claims another node\'s peer id', async () => {
    const [me, other] = [await identity(), await identity()];
    const forged = createAggregatorRecord({ key: me.key, peerId: other.peerId, binding: other.binding, input: INPUT, ttlMs: TTL, now: NOW });
    await assert.rejects(verifyAggregatorRecord(forged.event, { now: NOW }), PeerBindingError);
  });

  it('refuses a genuine record delivered by another peer than the one it names', async () => {
    const [me, other] = [await identity(), await identity()];
    await assert.rejects(verifyAggregatorRecord(sign(me).event, { now: NOW, expectedPeerId: other.peerId }), PeerIdMismatchError);
  });

  it('refuses a lapsed record, and one issued in the future', async () => {
    const me = await identity();
    await assert.rejects(verifyAggregatorRecord(sign(me).event, { now: NOW + TTL + 1 }), RecordExpiredError);
    await assert.rejects(verifyAggregatorRecord(sign(me, {}, NOW + 10 * 60_000).event, { now: NOW }), RecordExpiredError);
  });

  it('refuses a provider record passed off as an aggregator record (another kind)', async () => {
    const me = await identity();
    const { event } = sign(me);
    const other = signEnvelope(me.key, { kind: EVENT_KIND_PROVIDER_RECORD, tags: event.tags, content: event.content }, event.created_at);
    await assert.rejects(verifyAggregatorRecord(other, { now: NOW }), RecordSignatureError);
  });

  it('refuses to sign, and to read, a record over the size bound or with a bad endpoint', async () => {
    const me = await identity();
    assert.throws(() => sign(me, { models: Array.from({ length: 600 }, (_, i) => `model-${i}`) }), MalformedRecordError);
    assert.throws(() => sign(me, { endpoint: 'http://aggregator.example' }), MalformedRecordError);
    const { event } = sign(me);
    const huge = signEnvelope(me.key, { kind: EVENT_KIND_AGGREGATOR_RECORD, tags: event.tags, content: event.content + ' '.repeat(40 * 1024) }, event.created_at);
    await assert.rejects(verifyAggregatorRecord(huge, { now: NOW }), MalformedRecordError);
  });
});
