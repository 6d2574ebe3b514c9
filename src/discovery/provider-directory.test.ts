import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateNodeKey } from '../identity/index.js';
import { createLeaving, verifyLeaving } from './gossip-messages.js';
import { PeerBindingError, RecordExpiredError, RecordSignatureError } from './errors.js';
import { deriveLibp2pKey } from './libp2p-key.js';
import { createPeerBinding } from './peer-binding.js';
import { ProviderDirectory } from './provider-directory.js';
import { createProviderRecord, type SignedProviderRecord } from './provider-record.js';
import { sampleAnnouncement } from './testing/fixtures.js';

const T0 = Date.UTC(2026, 0, 1);
const TTL = 10_000;
const SILENCE = 3_000;

async function signed(now: number, key = generateNodeKey()): Promise<SignedProviderRecord> {
  const { privateKey, peerId } = await deriveLibp2pKey(key);
  const { load: _load, slots, ...input } = sampleAnnouncement();
  return createProviderRecord({
    key,
    peerId,
    binding: await createPeerBinding(key, privateKey, peerId),
    input: { ...input, protocolVersion: 1, load: { activeJobs: 0, slots } },
    ttlMs: TTL,
    now,
  });
}

describe('ProviderDirectory', () => {
  it('adds a record, updates it with a newer one and ignores an older replay', async () => {
    const key = generateNodeKey();
    const [first, second] = [await signed(T0, key), await signed(T0 + 1000, key)];
    const directory = new ProviderDirectory();
    assert.equal(directory.upsert(first, 'gossip', T0), 'added');
    assert.equal(directory.upsert(second, 'gossip', T0 + 1000), 'updated');
    assert.equal(directory.upsert(first, 'gossip', T0 + 1500), 'stale');
    assert.equal(directory.get(first.record.peerId)?.record.issuedAt, T0 + 1000);
    assert.equal(directory.size, 1);
  });

  it('keeps a provider that heartbeats and evicts one that falls silent', async () => {
    const [talker, mute] = [await signed(T0), await signed(T0)];
    const directory = new ProviderDirectory();
    directory.upsert(talker, 'gossip', T0);
    directory.upsert(mute, 'dht', T0);
    for (let t = T0 + 1000; t <= T0 + 4000; t += 1000) {
      directory.heartbeat(talker.record.peerId, { v: 1, ts: t, uptimeS: 1, load: { activeJobs: 1, slots: 2 } }, t);
    }
    const removed = directory.evictStale(T0 + 4000, SILENCE);
    assert.deepEqual(removed.map(({ provider, reason }) => [provider.peerId, reason]), [[mute.record.peerId, 'silent']]);
    assert.deepEqual(directory.get(talker.record.peerId)?.load, { activeJobs: 1, slots: 2 });
  });

  it('evicts a provider whose record lapsed, heartbeats or not', async () => {
    const record = await signed(T0);
    const directory = new ProviderDirectory();
    directory.upsert(record, 'gossip', T0);
    directory.heartbeat(record.record.peerId, { v: 1, ts: T0 + TTL, uptimeS: 10, load: { activeJobs: 0, slots: 2 } }, T0 + TTL);
    assert.deepEqual(directory.evictStale(T0 + TTL, SILENCE).map((removed) => removed.reason), ['expired']);
  });

  it('ignores a heartbeat older than the newest one seen (a replay)', async () => {
    const record = await signed(T0);
    const directory = new ProviderDirectory();
    directory.upsert(record, 'gossip', T0);
    const beat = (ts: number, activeJobs: number) => ({ v: 1 as const, ts, uptimeS: 1, load: { activeJobs, slots: 2 } });
    assert.equal(directory.heartbeat(record.record.peerId, beat(T0 + 2000, 1), T0 + 2000), true);
    assert.equal(directory.heartbeat(record.record.peerId, beat(T0 + 1000, 0), T0 + 2500), false);
    assert.deepEqual(directory.get(record.record.peerId)?.load, { activeJobs: 1, slots: 2 });
  });

  it('refuses a record replayed after its provider left, and takes a newer one', async () => {
    const key = generateNodeKey();
    const [before, after] = [await signed(T0, key), await signed(T0 + 5000, key)];
    const directory = new ProviderDirectory();
    directory.upsert(before, 'gossip', T0);
    assert.equal(directory.markLeft(before.record.peerId, T0 + 1000)?.reason, 'left');
    assert.equal(directory.upsert(before, 'gossip', T0 + 2000), 'stale');
    assert.equal(directory.upsert(after, 'gossip', T0 + 5000), 'added');
  });

  it('ignores heartbeats from peers without a record', () => {
    const directory = new ProviderDirectory();
    assert.equal(directory.heartbeat('12D3KooWnobody', { v: 1, ts: T0, uptimeS: 0, load: { activeJobs: 0, slots: 1 } }, T0), false);
    assert.equal(directory.size, 0);
  });

  it('never evicts its own record', async () => {
    const directory = new ProviderDirectory();
    directory.upsert(await signed(T0), 'self', T0);
    assert.deepEqual(directory.evictStale(T0 + TTL + 1, SILENCE), []);
  });

  it('lists the providers serving a model', async () => {
    const directory = new ProviderDirectory();
    directory.upsert(await signed(T0), 'gossip', T0);
    assert.equal(directory.serving('stories260K').length, 1);
    assert.equal(directory.serving('llama-70b').length, 0);
  });
});

describe('leaving notice', () => {
  it('verifies for the key and peer that signed it', async () => {
    const key = generateNodeKey();
    const { peerId } = await deriveLibp2pKey(key);
    verifyLeaving(createLeaving(key, peerId, T0), { pubkey: key.publicKey, peerId, notBefore: T0 / 1000, now: T0 });
  });
  it('is refused from another key, for another peer, or replayed after a newer record', async () => {
    const key = generateNodeKey();
    const { peerId } = await deriveLibp2pKey(key);
    const leaving = createLeaving(key, peerId, T0);
    assert.throws(() => verifyLeaving(leaving, { pubkey: generateNodeKey().publicKey, peerId, notBefore: 0, now: T0 }), RecordSignatureError);
    assert.throws(() => verifyLeaving(leaving, { pubkey: key.publicKey, peerId: '12D3KooWother', notBefore: 0, now: T0 }), PeerBindingError);
    assert.throws(() => verifyLeaving(leaving, { pubkey: key.publicKey, peerId, notBefore: T0 / 1000 + 60, now: T0 + 60_000 }), RecordExpiredError);
    assert.throws(() => verifyLeaving(leaving, { pubkey: key.publicKey, peerId, notBefore: 0, now: T0 + 3_600_000 }), RecordExpiredError);
  });
});
