import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchInputError, parseBatchInput, specOfBatchRequest } from './batch-input.js';

const line = (customId: string, body: object, url = '/v1/chat/completions') => JSON.stringify({ custom_id: customId, method: 'POST', url, body });
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  assert.fail('expected an error');
}

const chat = { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, temperature: 0 };

describe('parseBatchInput (OpenAI Batch API lines)', () => {
  it('reads chat and text requests in order, giving each the batch model', () => {
    const requests = parseBatchInput([line('a', chat), '', line('b', { prompt: 'Once', max_tokens: 3, seed: 7 }, '/v1/completions')].join('\n'), 'stories260K');
    assert.deepEqual(requests.map((request) => [request.customId, request.url, request.body.model]), [
      ['a', '/v1/chat/completions', 'stories260K'],
      ['b', '/v1/completions', 'stories260K'],
    ]);
  });

  it('refuses the whole file and names every bad line with its number', () => {
    const text = [
      line('ok', chat),
      '{not json',
      JSON.stringify({ custom_id: 'x', method: 'GET', url: '/v1/chat/completions', body: chat }),
      line('ok', chat),
      line('m', { ...chat, model: 'other' }),
      line('s', { ...chat, stream: true }),
      line('t', { ...chat, temperature: 9 }),
      JSON.stringify({ custom_id: 'u', method: 'POST', url: '/v1/embeddings', body: {} }),
      line('v', { ...chat, store: true }),
    ].join('\n');
    const error = thrownBy(() => parseBatchInput(text, 'stories260K', 'in.jsonl'));
    assert.ok(error instanceof BatchInputError);
    const problems = error.problems;
    assert.deepEqual(problems.map((problem) => problem.line), [2, 3, 4, 5, 6, 7, 8, 9]);
    assert.match(problems[0]!.message, /not valid JSON/);
    assert.match(problems[1]!.message, /method must be "POST"/);
    assert.match(problems[2]!.message, /custom_id "ok" repeats line 1/);
    assert.match(problems[3]!.message, /body.model is "other" but the batch runs "stories260K"/);
    assert.match(problems[4]!.message, /cannot be streamed/);
    assert.match(problems[5]!.message, /body.temperature/);
    assert.match(problems[6]!.message, /url must be one of/);
    assert.match(problems[7]!.message, /body.store: a batch request is kept in its output file/);
    assert.match((error as Error).message, /^in.jsonl: line 2: /);
  });

  it('reads Anthropic Messages lines as the Messages route reads its requests, naming what it refuses', () => {
    const ok = parseBatchInput(line('m1', { max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }], system: 'Be brief.' }, '/v1/messages'), 'stories260K');
    const spec = specOfBatchRequest(ok[0]!, 'job-00000001', 60_000, 0);
    assert.ok('messages' in spec.input);
    assert.deepEqual(spec.input.messages.map((message) => message.role), ['system', 'user']);
    assert.equal(spec.sampling.maxTokens, 8);
    const error = thrownBy(() => parseBatchInput(line('m2', { messages: [{ role: 'user', content: 'Hi' }] }, '/v1/messages'), 'stories260K'));
    assert.ok(error instanceof BatchInputError);
    assert.match(error.message, /line 1: .*max_tokens/);
  });

  it('refuses an empty file', () => {
    assert.throws(() => parseBatchInput('\n\n', 'm'), /the file has no requests/);
  });

  it('turns a line into the same job spec the HTTP API would, with the batch timeout', () => {
    const [request] = parseBatchInput(line('a', { ...chat, seed: 11 }), 'stories260K');
    const spec = specOfBatchRequest(request!, 'job-00000001', 30_000, 1_000);
    assert.deepEqual(spec.input, { messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(spec.sampling.seed, 11);
    assert.equal(spec.sampling.temperature, 0);
    assert.equal(spec.sampling.maxTokens, 4);
    assert.equal(spec.deadline, 31_000);
  });
});
