import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateNodeKey, signEnvelope, type NodeKey } from '../identity/index.js';
import type { NostrEvent } from '../protocol/index.js';
import { EVENT_KIND_PEER_BINDING, EVENT_KIND_PROVIDER_RECORD, PEER_BINDING_D_TAG, PROVIDER_RECORD_D_TAG } from './constants.js';
import { MalformedRecordError, PeerBindingError, PeerIdMismatchError, RecordExpiredError, RecordSignatureError } from './errors.js';
import { deriveLibp2pKey } from './libp2p-key.js';
import { createPeerBinding, verifyPeerBinding } from './peer-binding.js';
import { createProviderRecord, verifyProviderRecord, type ProviderRecordInput } from './provider-record.js';
import { T4_MACHINE } from './testing/fixtures.js';

const NOW = Date.UTC(2026, 0, 1);
const TTL = 60_000;

const INPUT: ProviderRecordInput = {
  hardware: T4_MACHINE,
  models: [{ name: 'stories260K', sizeBytes: 1_185_376 }],
  price: { amount: '0.002', currency: 'USD', per: '1k_tokens' },
  region: 'eu-west',
  software: { infernet: '0.1.0', engine: 'llama.cpp' },
  protocolVersion: 1,
  endpoint: 'wss://provider.example:7420',
  load: { activeJobs: 0, slots: 2 },
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

function signedRecord({ key, peerId, binding }: Identity, overrides: Partial<ProviderRecordInput> = {}, now = NOW) {
  return createProviderRecord({ key, peerId, binding, input: { ...INPUT, ...overrides }, ttlMs: TTL, now });
}

/** Signs arbitrary record content with `key`, bypassing createProviderRecord's checks. */
function signContent(key: NodeKey, content: unknown, peerId: string): NostrEvent {
  return signEnvelope(key, { kind: EVENT_KIND_PROVIDER_RECORD, tags: [['d', PROVIDER_RECORD_D_TAG], ['peer', peerId]], content: JSON.stringify(content) }, Math.floor(NOW / 1000));
}

describe('libp2p key derived from the Nostr key', () => {
  it('gives the same peer id for the same Nostr key, and another for another key', async () => {
    const key = generateNodeKey();
    assert.equal((await deriveLibp2pKey(key)).peerId, (await deriveLibp2pKey(key)).peerId);
    assert.notEqual((await deriveLibp2pKey(key)).peerId, (await deriveLibp2pKey(generateNodeKey())).peerId);
    assert.match((await deriveLibp2pKey(key)).peerId, /^12D3KooW/);
  });
});

describe('peer binding', () => {
  it('verifies when each key signed the other', async () => {
    const { key, peerId, binding } = await identity();
    await verifyPeerBinding({ binding, pubkey: key.publicKey, peerId });
  });
  it("refuses a Nostr key claiming someone else's peer id without that peer's signature", async () => {
    const victim = await identity();
    const attacker = generateNodeKey();
    const claim = signEnvelope(attacker, {
      kind: EVENT_KIND_PEER_BINDING,
      tags: [['d', PEER_BINDING_D_TAG], ['peer', victim.peerId], ['peer_sig', victim.binding.tags.find((tag) => tag[0] === 'peer_sig')![1]!]],
      content: '',
    });
    await assert.rejects(verifyPeerBinding({ binding: claim, pubkey: attacker.publicKey, peerId: victim.peerId }), PeerBindingError);
  });
  it("refuses a binding presented for another Nostr key than its signer's", async () => {
    const victim = await identity();
    await assert.rejects(verifyPeerBinding({ binding: victim.binding, pubkey: generateNodeKey().publicKey, peerId: victim.peerId }), PeerBindingError);
  });
});

describe('provider record', () => {
  it('verifies and carries the job endpoint, hardware, models and price as signed', async () => {
    const provider = await identity();
    const { event } = signedRecord(provider);
    const { record } = await verifyProviderRecord(event, { now: NOW + 1000, expectedPeerId: provider.peerId });
    assert.equal(record.endpoint, 'wss://provider.example:7420');
    assert.equal(record.pubkey, provider.key.publicKey);
    assert.equal(record.peerId, provider.peerId);
    assert.equal(record.hardware.gpus[0]?.gpuClass, 'nvidia-t4-16gb');
    assert.deepEqual(record.models, INPUT.models);
    assert.equal(record.expiresAt, NOW + TTL);
    assert.equal(event.tags.find((tag) => tag[0] === 'expiration')?.[1], String((NOW + TTL) / 1000));
  });

  it('carries the kinds of job the provider runs, signed, and none when it only generates', async () => {
    const id = await identity();
    const embedding = await verifyProviderRecord(signedRecord(id, { jobKinds: ['generate', 'embed'] }).event, { now: NOW, expectedPeerId: id.peerId });
    assert.deepEqual(embedding.record.jobKinds, ['generate', 'embed']);
    assert.equal((await verifyProviderRecord(signedRecord(id).event, { now: NOW, expectedPeerId: id.peerId })).record.jobKinds, undefined);
    await assert.rejects(verifyProviderRecord(signContent(id.key, { ...signedRecord(id).record, jobKinds: ['dance'] }, id.peerId), { now: NOW, expectedPeerId: id.peerId }), MalformedRecordError);
  });

  it('refuses a record whose content was changed after signing (RecordSignatureError)', async () => {
    const { event } = signedRecord(await identity());
    const forged = { ...event, content: event.content.replace('wss://provider.example:7420', 'wss://attacker.example:7420') };
    await assert.rejects(verifyProviderRecord(forged, { now: NOW }), RecordSignatureError);
  });

  it("refuses a record signed by another key than the one it names (RecordSignatureError)", async () => {
    const victim = await identity();
    const { record } = signedRecord(victim);
    const forged = signContent(generateNodeKey(), record, victim.peerId);
    await assert.rejects(verifyProviderRecord(forged, { now: NOW }), RecordSignatureError);
  });

  it("refuses an attacker's record that claims a victim's peer id (PeerBindingError)", async () => {
    const victim = await identity();
    const attacker = await identity();
    // The attacker's own key, the victim's peer id and binding: the binding is not the attacker's.
    const { record } = signedRecord(attacker);
    const forged = signContent(attacker.key, { ...record, peerId: victim.peerId, binding: victim.binding }, victim.peerId);
    await assert.rejects(verifyProviderRecord(forged, { now: NOW }), PeerBindingError);
  });

  it('refuses a valid record delivered by another peer (PeerIdMismatchError)', async () => {
    const { event } = signedRecord(await identity());
    const relay = await identity();
    await assert.rejects(verifyProviderRecord(event, { now: NOW, expectedPeerId: relay.peerId }), PeerIdMismatchError);
  });

  it('refuses an expired record and one issued in the future (RecordExpiredError)', async () => {
    const { event } = signedRecord(await identity());
    await assert.rejects(verifyProviderRecord(event, { now: NOW + TTL }), RecordExpiredError);
    await assert.rejects(verifyProviderRecord(event, { now: NOW - 10 * 60_000 }), RecordExpiredError);
  });

  const malformed: Array<[string, (identity: Identity) => unknown]> = [
    ['not an event at all', () => ({ hello: 'world' })],
    ['content that is not JSON', ({ key, peerId }) => signEnvelope(key, { kind: EVENT_KIND_PROVIDER_RECORD, tags: [['d', PROVIDER_RECORD_D_TAG], ['peer', peerId]], content: '{' })],
    ['a record missing its endpoint', (id) => signContent(id.key, { ...signedRecord(id).record, endpoint: undefined }, id.peerId)],
    ['an http endpoint', (id) => signContent(id.key, { ...signedRecord(id).record, endpoint: 'http://x' }, id.peerId)],
    ['another schema version', (id) => signContent(id.key, { ...signedRecord(id).record, v: 2 }, id.peerId)],
    ['an unknown field', (id) => signContent(id.key, { ...signedRecord(id).record, extra: true }, id.peerId)],
    ['a validity of a year', (id) => signContent(id.key, { ...signedRecord(id).record, expiresAt: NOW + 365 * 86_400_000 }, id.peerId)],
    ['a peer tag naming another peer', (id) => signContent(id.key, signedRecord(id).record, '12D3KooWAnotherPeer')],
  ];
  for (const [what, make] of malformed) {
    it(`refuses ${what} (MalformedRecordError)`, async () => {
      await assert.rejects(verifyProviderRecord(make(await identity()), { now: NOW }), MalformedRecordError);
    });
  }

  it('is not signed with a TTL over the limit', async () => {
    const { key, peerId, binding } = await identity();
    assert.throws(() => createProviderRecord({ key, peerId, binding, input: INPUT, ttlMs: 7 * 86_400_000, now: NOW }), MalformedRecordError);
  });
});
