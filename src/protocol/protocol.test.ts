import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameRejectedError, GenerationInput, jobKindOf, JobSpec, MAX_EMBEDDING_INPUTS, negotiateVersion, parseFrame } from './index.js';

const limits = { maxBytes: 4096 };
const hex = (n: number) => 'a'.repeat(n);

function rejectionOf(raw: string, options = limits): string {
  try {
    parseFrame(raw, options);
  } catch (error) {
    assert.ok(error instanceof FrameRejectedError);
    return error.code;
  }
  assert.fail('frame was accepted');
}

describe('parseFrame', () => {
  it('accepts a valid hello', () => {
    const hello = { v: 1, type: 'hello', versions: [1], pubkey: hex(64), role: 'client', agent: 'test', challenge: hex(64) };
    assert.equal(parseFrame(JSON.stringify(hello), limits).type, 'hello');
  });
  it('names malformed JSON', () => assert.equal(rejectionOf('{not json'), 'malformed_json'));
  it('names a frame over the size limit before parsing it', () =>
    assert.equal(rejectionOf(JSON.stringify({ v: 1, type: 'heartbeat', ts: 1, pad: hex(5000) })), 'frame_too_large'));
  it('names an unknown frame type', () => assert.equal(rejectionOf('{"v":1,"type":"job.steal"}'), 'unknown_type'));
  it('names an unsupported protocol version', () => assert.equal(rejectionOf('{"v":99,"type":"heartbeat","ts":1}'), 'unsupported_version'));
  it('holds a session to its negotiated version', () =>
    assert.equal(rejectionOf('{"v":2,"type":"heartbeat","ts":1}', { maxBytes: 4096, sessionVersion: 1 } as never), 'unsupported_version'));
  it('names the field that breaks the schema', () => {
    try {
      parseFrame('{"v":1,"type":"job.cancel","jobId":"x"}', limits);
      assert.fail('accepted');
    } catch (error) {
      assert.ok(error instanceof FrameRejectedError);
      assert.equal(error.code, 'invalid_frame');
      assert.match(error.message, /jobId/);
    }
  });
  it('refuses unknown extra fields', () => assert.equal(rejectionOf('{"v":1,"type":"heartbeat","ts":1,"evil":true}'), 'invalid_frame'));
  it('refuses a JSON array', () => assert.equal(rejectionOf('[1,2]'), 'invalid_frame'));
});

describe('JobSpec', () => {
  it('defaults to greedy decoding, 128 tokens and no verification', () => {
    const spec = JobSpec.parse({ jobId: 'job-12345678', model: { name: 'm' }, input: { prompt: 'hi' }, sampling: {}, deadline: Date.now() + 1000 });
    assert.equal(spec.sampling.temperature, 0);
    assert.equal(spec.sampling.maxTokens, 128);
    assert.deepEqual(spec.verification, { kind: 'none' });
  });
  it('refuses an input with both a prompt and messages', () => {
    const result = JobSpec.safeParse({ jobId: 'job-12345678', model: { name: 'm' }, input: { prompt: 'a', messages: [] }, sampling: {}, deadline: 1 });
    assert.equal(result.success, false);
  });
});

describe('an embedding job', () => {
  const embedSpec = { jobId: 'job-12345678', model: { name: 'm' }, input: { embed: ['a cat', 'a dog'] }, sampling: {}, deadline: Date.now() + 1000 };
  it('is a spec whose input holds the texts, of kind embed', () => {
    const spec = JobSpec.parse(embedSpec);
    assert.equal(jobKindOf(spec.input), 'embed');
    assert.equal(jobKindOf({ prompt: 'hi' }), 'generate');
  });
  it('is refused by a provider that predates embeddings, whose spec schema knows only prompts and chats, instead of run as a chat', () => {
    // The schema as it was before embed jobs: JobSpec with the generation inputs alone.
    const olderJobSpec = JobSpec.extend({ input: GenerationInput });
    const result = olderJobSpec.safeParse(embedSpec);
    assert.equal(result.success, false);
    assert.equal(olderJobSpec.safeParse({ ...embedSpec, input: { embed: ['x'], prompt: 'x' } }).success, false, 'no prompt can ride beside the texts');
  });
  it('carries at most MAX_EMBEDDING_INPUTS non-empty texts', () => {
    assert.equal(JobSpec.safeParse({ ...embedSpec, input: { embed: new Array(MAX_EMBEDDING_INPUTS + 1).fill('x') } }).success, false);
    assert.equal(JobSpec.safeParse({ ...embedSpec, input: { embed: [] } }).success, false);
    assert.equal(JobSpec.safeParse({ ...embedSpec, input: { embed: [''] } }).success, false);
  });
  it('asks the aggregator with its kind in job.request, which an older aggregator refuses as an unknown field', () => {
    const request = { v: 1, type: 'job.request', jobId: 'job-12345678', model: { name: 'm' }, maxTokens: 1, deadline: Date.now() + 1000, kind: 'embed' };
    assert.equal(parseFrame(JSON.stringify(request), limits).type, 'job.request');
    assert.equal(rejectionOf(JSON.stringify({ ...request, kind: 'dance' })), 'invalid_frame');
  });
});

describe('version negotiation', () => {
  it('picks the highest common version', () => assert.equal(negotiateVersion([1, 2, 3], [2, 3, 4]), 3));
  it('returns null when no version is shared', () => assert.equal(negotiateVersion([1], [2]), null));
});
