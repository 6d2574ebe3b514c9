import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateNodeKey, SignatureMismatchError } from '../identity/index.js';
import { embeddingVectorsOf, encodeEmbeddingVector, JobSpec, MAX_EMBEDDING_VALUES, parseFrame } from '../protocol/index.js';
import { openJobResult, openJobSpec, outputHashOf, sealJobResult, sealJobSpec } from './job-envelopes.js';
import { tagValue } from '../identity/index.js';

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
  it('sign an embedding result by the hash of its vectors, and refuse vectors that do not match it', () => {
    const embeddings = embeddingVectorsOf([[0.25, -1], [2, 3]]);
    const embedded = { ...output, output: '', tokenIds: [], finishReason: 'stop' as const, embeddings };
    const event = sealJobResult(provider, client.publicKey, 'e'.repeat(64), embedded, 'm');
    assert.equal(tagValue(event, 'output_hash'), embeddings.sha256);
    assert.equal(outputHashOf(embedded), embeddings.sha256);
    assert.deepEqual(openJobResult(client, event, provider.publicKey, spec.jobId).embeddings, embeddings);
    // A provider that signs one set of vectors but claims another's sha256 inside (to pass as a run it did not do).
    const claimed = { ...embedded, embeddings: { ...embeddings, sha256: embeddingVectorsOf([[1, 1], [1, 1]]).sha256 } };
    assert.throws(() => openJobResult(client, sealJobResult(provider, client.publicKey, 'e'.repeat(64), claimed, 'm'), provider.publicKey, spec.jobId), SignatureMismatchError);
    const swapped = { ...embedded, embeddings: { ...embeddings, vectors: [encodeEmbeddingVector([9, 9]), embeddings.vectors[1]!] } };
    assert.throws(() => openJobResult(client, { ...sealJobResult(provider, client.publicKey, 'e'.repeat(64), swapped, 'm'), tags: event.tags }, provider.publicKey, spec.jobId), SignatureMismatchError);
  });
  it('fit the largest embedding result in one frame of the default 1 MiB limit', () => {
    const dimensions = 4096;
    const values = Array.from({ length: MAX_EMBEDDING_VALUES / dimensions }, (_, row) => Array.from({ length: dimensions }, (_, i) => Math.sin(row * dimensions + i)));
    const largest = { ...output, output: '', tokenIds: [], finishReason: 'stop' as const, embeddings: embeddingVectorsOf(values) };
    const frame = JSON.stringify({ v: 1, type: 'job.result', jobId: spec.jobId, result: sealJobResult(provider, client.publicKey, 'e'.repeat(64), largest, 'm') });
    assert.ok(Buffer.byteLength(frame) < 1024 * 1024, `${Buffer.byteLength(frame)} bytes`);
    const parsed = parseFrame(frame, { maxBytes: 1024 * 1024 });
    assert.equal(parsed.type === 'job.result' && openJobResult(client, parsed.result, provider.publicKey, spec.jobId).embeddings?.vectors.length, MAX_EMBEDDING_VALUES / dimensions);
  });
});
