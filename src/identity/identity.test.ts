import assert from 'node:assert/strict';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EVENT_KIND_JOB_SPEC } from '../protocol/index.js';
import {
  conversationKeyOf,
  DecryptionFailedError,
  generateNodeKey,
  KeyFileError,
  loadNodeKey,
  newChallenge,
  publicKeyFromText,
  saveNodeKey,
  seal,
  signEnvelope,
  signSessionAuth,
  SignatureMismatchError,
  unseal,
  verifyEnvelope,
  verifySessionAuth,
} from './index.js';

const tempPath = async (name: string) => join(await mkdtemp(join(tmpdir(), 'identity-')), name);

describe('node key file', () => {
  it('is written with mode 0600 and loads back to the same key', async () => {
    const path = await tempPath('node.key');
    const key = generateNodeKey();
    await saveNodeKey(path, key);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await loadNodeKey(path)).publicKey, key.publicKey);
    assert.match(key.npub, /^npub1/);
  });
  it('is encrypted with NIP-49 when a passphrase is given, and refuses a wrong one', async () => {
    const path = await tempPath('node.key');
    const key = generateNodeKey();
    await saveNodeKey(path, key, 'correct horse');
    assert.equal((await loadNodeKey(path, 'correct horse')).publicKey, key.publicKey);
    await assert.rejects(loadNodeKey(path, 'wrong'), /wrong passphrase/);
    await assert.rejects(loadNodeKey(path), /INFERNET_PASSPHRASE/);
  });
  it('is refused when readable by others', async () => {
    const path = await tempPath('node.key');
    await writeFile(path, 'nsec1xyz', { mode: 0o644 });
    await assert.rejects(loadNodeKey(path), KeyFileError);
  });
  it('never overwrites an existing key', async () => {
    const path = await tempPath('node.key');
    await saveNodeKey(path, generateNodeKey());
    await assert.rejects(saveNodeKey(path, generateNodeKey()), /EEXIST/);
  });
  it('reads npub and hex public keys', () => {
    const key = generateNodeKey();
    assert.equal(publicKeyFromText(key.npub), key.publicKey);
    assert.equal(publicKeyFromText(key.publicKey), key.publicKey);
    assert.throws(() => publicKeyFromText('npub1nonsense'), KeyFileError);
  });
});

describe('signed envelopes', () => {
  const key = generateNodeKey();
  const envelope = signEnvelope(key, { kind: EVENT_KIND_JOB_SPEC, tags: [['job', 'job-1234567']], content: 'x' });
  it('verify with the expected signer and tags', () =>
    verifyEnvelope(envelope, { kind: EVENT_KIND_JOB_SPEC, pubkey: key.publicKey, tags: { job: 'job-1234567' } }));
  it('fail when the content is tampered with', () =>
    assert.throws(() => verifyEnvelope({ ...envelope, content: 'y' }, { kind: EVENT_KIND_JOB_SPEC }), SignatureMismatchError));
  it('fail when tampered after signing, even when copied from an object nostr-tools verified before', async () => {
    const { finalizeEvent, verifyEvent } = await import('nostr-tools/pure');
    const signed = finalizeEvent({ kind: EVENT_KIND_JOB_SPEC, tags: [], content: 'x', created_at: 1 }, key.secretKey);
    assert.ok(verifyEvent(signed));
    assert.throws(() => verifyEnvelope({ ...signed, content: 'y' }, { kind: EVENT_KIND_JOB_SPEC }), SignatureMismatchError);
  });
  it('fail when signed by someone else', () =>
    assert.throws(() => verifyEnvelope(envelope, { kind: EVENT_KIND_JOB_SPEC, pubkey: generateNodeKey().publicKey }), SignatureMismatchError));
  it('fail when a tag differs', () =>
    assert.throws(() => verifyEnvelope(envelope, { kind: EVENT_KIND_JOB_SPEC, tags: { job: 'other' } }), SignatureMismatchError));
});

describe('sealed payloads (NIP-44)', () => {
  const alice = generateNodeKey();
  const bob = generateNodeKey();
  const aliceToBob = conversationKeyOf(alice.secretKey, bob.publicKey);
  const bobFromAlice = conversationKeyOf(bob.secretKey, alice.publicKey);
  it('round-trip between two keys', () => assert.equal(unseal(seal('hello', aliceToBob), bobFromAlice), 'hello'));
  it('carry payloads beyond the 64 KiB NIP-44 limit, multi-byte characters intact', () => {
    const big = 'é'.repeat(70_000) + '🦙'.repeat(20_000);
    assert.equal(unseal(seal(big, aliceToBob), bobFromAlice), big);
  });
  it('cannot be read by a third key', () => {
    const eve = generateNodeKey();
    assert.throws(() => unseal(seal('secret', aliceToBob), conversationKeyOf(eve.secretKey, alice.publicKey)), DecryptionFailedError);
  });
});

describe('session authentication', () => {
  const key = generateNodeKey();
  const challenge = newChallenge();
  it('accepts a fresh signature over our challenge', () => verifySessionAuth(signSessionAuth(key, challenge, 1), key.publicKey, challenge));
  it('refuses a signature over another challenge', () =>
    assert.throws(() => verifySessionAuth(signSessionAuth(key, newChallenge(), 1), key.publicKey, challenge), SignatureMismatchError));
  it('refuses a key other than the one announced', () =>
    assert.throws(() => verifySessionAuth(signSessionAuth(key, challenge, 1), generateNodeKey().publicKey, challenge), SignatureMismatchError));
  it('refuses a stale signature', () =>
    assert.throws(() => verifySessionAuth(signSessionAuth(key, challenge, 1), key.publicKey, challenge, Date.now() / 1000 + 3600), /too old/));
});
