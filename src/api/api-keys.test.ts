import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ApiKeyFileError, ApiKeyNotFoundError, ApiKeyVerifier, createApiKey, hashApiKey, listApiKeys, revokeApiKey } from './api-keys.js';

const keysFile = async () => join(await mkdtemp(join(tmpdir(), 'infernet-keys-')), 'api-keys.json');

describe('API keys', () => {
  it('creates a random inf_ key and stores only its hash, label and time, readable by the owner alone', async () => {
    const file = await keysFile();
    const { key, record } = await createApiKey(file, 'laptop');
    assert.match(key, /^inf_[A-Za-z0-9_-]{43}$/);
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(key.slice(4)), 'the key itself is not stored');
    assert.equal(record.sha256, hashApiKey(key));
    assert.equal(record.label, 'laptop');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.notEqual((await createApiKey(file)).key, key);
    assert.equal((await listApiKeys(file)).length, 2);
  });

  it('verifies a stored key and refuses any other', async () => {
    const file = await keysFile();
    const verifier = new ApiKeyVerifier(file);
    assert.equal(await verifier.hasKeys(), false);
    const { key, record } = await createApiKey(file, 'ci');
    assert.deepEqual(await verifier.verify(key), record);
    assert.equal(await verifier.verify(key + 'x'), undefined);
    assert.equal(await verifier.verify(''), undefined);
  });

  it('forgets a revoked key at the next check, by id or by label', async () => {
    const file = await keysFile();
    const verifier = new ApiKeyVerifier(file);
    const first = await createApiKey(file, 'one');
    const second = await createApiKey(file, 'two');
    assert.ok(await verifier.verify(first.key));
    assert.deepEqual((await revokeApiKey(file, first.record.id)).map((key) => key.id), [first.record.id]);
    assert.equal(await verifier.verify(first.key), undefined);
    await revokeApiKey(file, 'two');
    assert.equal(await verifier.verify(second.key), undefined);
    await assert.rejects(revokeApiKey(file, 'two'), ApiKeyNotFoundError);
  });

  it('names the file when it is not a key file', async () => {
    const file = await keysFile();
    await writeFile(file, '{"keys": [{"id": 5}]}');
    await assert.rejects(listApiKeys(file), (error: unknown) => error instanceof ApiKeyFileError && error.message.includes(file) && /keys\.0\.id/.test(error.message));
  });
});
