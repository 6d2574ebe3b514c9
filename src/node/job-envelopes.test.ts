import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateNodeKey, SignatureMismatchError } from '../identity/index.js';
import { JobSpec } from '../protocol/index.js';
import { openJobResult, openJobSpec, sealJobResult, sealJobSpec } from './job-envelopes.js';

const client = generateNodeKey();
const provider = generateNodeKey();
const spec = JobSpec.parse({ jobId: 'job-envelope-1', model: { name: 'm' }, input: { prompt: 'a prompt only the provider may read' }, sampling: {}, deadline: Date.now() + 1000 });
const output = { jobId: spec.jobId, output: 'hello world', tokenIds: [1, 2], finishReason: 'length' as const, usage: { promptTokens: 2, completionTokens: 2 }, engine: 'test', timings: { firstTokenMs: 1, totalMs: 2 } };

describe('job envelopes', () => {
  it('carry the spec from client to provider only', () => {
    const event = sealJobSpec(client, provider.publicKey, spec);
    assert.deepEqual(openJobSpec(provider, event, spec.jobId), spec);
    assert.equal(event.content.includes('only the provider'), false, 'the prompt is encrypted');
    assert.throws(() => openJobSpec(generateNodeKey(), event, spec.jobId), SignatureMismatchError);
  });
  it('refuse a spec replayed under another job id', () => {
    assert.throws(() => openJobSpec(provider, sealJobSpec(client, provider.publicKey, spec), 'job-other-id'), SignatureMismatchError);
  });
  it('carry the result back, and a tampered result is refused', () => {
    const event = sealJobResult(provider, client.publicKey, 'e'.repeat(64), output, 'm');
    assert.equal(openJobResult(client, event, provider.publicKey, spec.jobId).output, 'hello world');
    const forgedHash = { ...event, tags: event.tags.map((tag) => (tag[0] === 'output_hash' ? ['output_hash', '0'.repeat(64)] : tag)) };
    assert.throws(() => openJobResult(client, forgedHash, provider.publicKey, spec.jobId), SignatureMismatchError);
    assert.throws(() => openJobResult(client, event, generateNodeKey().publicKey, spec.jobId), SignatureMismatchError);
  });
});
