import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobOutcome } from '../client/job-client.js';
import { BatchMergeError, errorLine, mergeResults, mergedJsonl, successLine } from './batch-output.js';

const outcome = (jobId: string, output: string): JobOutcome => ({
  jobId,
  status: 'completed',
  output,
  provider: 'ab'.repeat(32),
  providerNpub: 'npub1x',
  tokens: 2,
  tokenIds: [1, 2],
  finishReason: 'length',
  engine: 'test-engine',
  promptTokens: 3,
  resultEventId: 'e',
  outputHash: '00',
  firstTokenMs: 1,
  lastTokenMs: 2,
  totalMs: 3,
});

describe('batch output lines', () => {
  it('a response line carries custom_id, status 200 and the OpenAI completion body', () => {
    const line = JSON.parse(successLine({ customId: 'c1', url: '/v1/chat/completions', body: { model: 'm' } }, outcome('job-1', 'Hello'), 100));
    assert.equal(line.custom_id, 'c1');
    assert.equal(line.error, null);
    assert.equal(line.response.status_code, 200);
    assert.equal(line.response.body.object, 'chat.completion');
    assert.equal(line.response.body.choices[0].message.content, 'Hello');
    assert.deepEqual(line.response.body.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
  });

  it('a request with tools is answered as the chat route answers it: a call as tool_calls, text unwrapped', () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
    const forced = JSON.parse(successLine({ customId: 'c3', url: '/v1/chat/completions', body: { model: 'm', tools, tool_choice: 'required' } }, outcome('job-3', '{"name": "get_weather", "arguments": {"city": "Oslo"}}'), 100));
    const choice = forced.response.body.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.deepEqual(choice.message.tool_calls.map((call: { function: { name: string; arguments: string } }) => [call.function.name, JSON.parse(call.function.arguments)]), [['get_weather', { city: 'Oslo' }]]);
    const answered = JSON.parse(successLine({ customId: 'c4', url: '/v1/chat/completions', body: { model: 'm', tools } }, outcome('job-4', '{"response": "It is sunny."}'), 100));
    assert.equal(answered.response.body.choices[0].message.content, 'It is sunny.');
    assert.equal(answered.response.body.choices[0].message.tool_calls, undefined);
  });

  it('a Messages line is answered with the message POST /v1/messages answers', () => {
    const line = JSON.parse(successLine({ customId: 'c5', url: '/v1/messages', body: { model: 'm', max_tokens: 2, messages: [] } }, outcome('job-5', 'Hello'), 100));
    const message = line.response.body;
    assert.deepEqual([message.type, message.role, message.model, message.stop_reason], ['message', 'assistant', 'm', 'max_tokens']);
    assert.deepEqual(message.content, [{ type: 'text', text: 'Hello' }]);
    assert.deepEqual([message.usage.input_tokens, message.usage.output_tokens], [3, 2]);
  });

  it('an error line carries custom_id and the error, and no response', () => {
    const line = JSON.parse(errorLine({ customId: 'c2', url: '/v1/completions', body: {} }, 'job-2', { code: 'engine_failed', message: 'too long' }));
    assert.deepEqual([line.custom_id, line.response, line.error], ['c2', null, { code: 'engine_failed', message: 'too long' }]);
  });
});

describe('mergeResults', () => {
  it('puts results that arrived in any order back in input order', () => {
    assert.deepEqual(mergeResults(3, [{ index: 2, line: 'c' }, { index: 0, line: 'a' }, { index: 1, line: 'b' }]), ['a', 'b', 'c']);
    assert.equal(mergedJsonl(2, [{ index: 1, line: 'y' }, { index: 0, line: 'x' }]), 'x\ny\n');
  });

  it('keeps the first result of a request and drops a late duplicate', () => {
    assert.deepEqual(mergeResults(2, [{ index: 0, line: 'first' }, { index: 1, line: 'b' }, { index: 0, line: 'again' }]), ['first', 'b']);
  });

  it('refuses to merge while a request has no result, naming it', () => {
    assert.throws(() => mergeResults(3, [{ index: 0, line: 'a' }]), (error: unknown) => error instanceof BatchMergeError && /2 input line\(s\): index 1, 2/.test(error.message));
  });

  it('refuses a result for a line that does not exist', () => {
    assert.throws(() => mergeResults(1, [{ index: 0, line: 'a' }, { index: 5, line: 'b' }]), BatchMergeError);
  });
});
