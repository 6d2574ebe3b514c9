// Threat model attack 13: every key that gossips a record takes a place in the directory of providers. However
// many keys announce, the directory holds a bounded number; a known provider still updates, and a place freed by
// a silent key is taken again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateNodeKey } from '../identity/index.js';
import { deriveLibp2pKey } from './libp2p-key.js';
import { createPeerBinding } from './peer-binding.js';
import { MAX_KNOWN_PROVIDERS, ProviderDirectory } from './provider-directory.js';
import { createProviderRecord, type SignedProviderRecord } from './provider-record.js';
import { sampleAnnouncement } from './testing/fixtures.js';

const T0 = Date.UTC(2026, 0, 1);
const SILENCE = 35_000;

async function signedRecord(now: number): Promise<SignedProviderRecord> {
  const key = generateNodeKey();
  const { privateKey, peerId } = await deriveLibp2pKey(key);
  const { load: _load, slots, ...input } = sampleAnnouncement();
  return createProviderRecord({ key, peerId, binding: await createPeerBinding(key, privateKey, peerId), input: { ...input, protocolVersion: 1, load: { activeJobs: 0, slots } }, ttlMs: 600_000, now });
}

/** The same signed record under another peer id: the directory keeps what verification let through, by peer id. */
function asPeer(signed: SignedProviderRecord, peerId: string, issuedAt = signed.record.issuedAt): SignedProviderRecord {
  return { record: { ...signed.record, peerId, issuedAt }, event: signed.event };
}

describe('the directory of providers under a flood of keys', () => {
  it(`holds at most MAX_KNOWN_PROVIDERS (${MAX_KNOWN_PROVIDERS}) providers, still updates a known one, and takes a new one once a silent one is gone`, async () => {
    const signed = await signedRecord(T0);
    const directory = new ProviderDirectory();
    const results = Array.from({ length: MAX_KNOWN_PROVIDERS + 100 }, (_, i) => directory.upsert(asPeer(signed, `sybil-${i}`), 'gossip', T0));
    assert.equal(directory.size, MAX_KNOWN_PROVIDERS);
    assert.equal(results.filter((result) => result === 'full').length, 100);
    assert.equal(directory.upsert(asPeer(signed, 'sybil-0', T0 + 1), 'gossip', T0 + 1), 'updated');
    directory.heartbeat('sybil-0', { v: 1, ts: T0 + SILENCE, uptimeS: 1, load: { activeJobs: 0, slots: 1 } }, T0 + SILENCE);
    assert.equal(directory.evictStale(T0 + SILENCE + 1, SILENCE).length, MAX_KNOWN_PROVIDERS - 1);
    assert.equal(directory.upsert(asPeer(signed, 'newcomer', T0 + SILENCE), 'gossip', T0 + SILENCE + 2), 'added');
  });
});
