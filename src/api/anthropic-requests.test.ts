import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from './api-error.js';
import { anthropicErrorBody, stopOf } from './anthropic-reply.js';
import { messagesJobSpec, parseMessagesRequest, replyModeOfMessages } from './anthropic-requests.js';

const JOB_ID = 'job-0123456789';
const spec = (body: object) => messagesJobSpec(parseMessagesRequest({ model: 'stories260K', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...body }), JOB_ID, 1_000);

function refusal(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error;
  }
  assert.fail('the request was accepted');
}

describe('Anthropic Messages requests as job specs', () => {
  it('puts the system prompt first and joins text blocks, with Anthropic’s default temperature 1', () => {
    const job = spec({ system: [{ type: 'text', text: 'Be brief.' }], messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b', cache_control: { type: 'ephemeral' } }] }] });
    assert.deepEqual(job.input, { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'a\nb' }] });
    assert.equal(job.sampling.temperature, 1);
    assert.equal(job.sampling.maxTokens, 16);
    assert.equal(job.logprobs, undefined);
  });

  it('carries stop sequences (asking for token texts to name the one that stopped), top_k and top_p', () => {
    const job = spec({ stop_sequences: ['\n\n', 'The end'], top_k: 40, top_p: 0.9, temperature: 0.5 });
    assert.deepEqual(job.sampling.stop, ['\n\n', 'The end']);
    assert.equal(job.sampling.topK, 40);
    assert.equal(job.sampling.topP, 0.9);
    assert.equal(job.logprobs, 0);
  });

  it('decodes output_config.format under a strict schema grammar, naming a keyword it cannot enforce', () => {
    const job = spec({ output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] } } } });
    assert.equal(job.sampling.format?.type, 'json_schema');
    const error = refusal(() => spec({ output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } } } } } }));
    assert.equal(error.param, 'output_config.format.schema.properties.n.minimum');
    assert.match(error.message, /'output_config\.format\.schema\.properties\.n\.minimum'/);
  });

  it('refuses by name what it cannot honour', () => {
    assert.equal(refusal(() => spec({ thinking: { type: 'enabled', budget_tokens: 2000 } })).param, 'thinking');
    assert.equal(refusal(() => spec({ temperature: 1.2 })).param, 'temperature');
    assert.equal(refusal(() => spec({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] })).param, 'messages[1].role');
    assert.equal(refusal(() => spec({ top_logprobs: 1 })).param, 'top_logprobs');
    assert.equal(refusal(() => spec({ stop_sequences: Array.from({ length: 9 }, (_, i) => `s${i}`) })).param, 'stop_sequences');
    assert.doesNotThrow(() => spec({ thinking: { type: 'disabled' }, metadata: { user_id: 'u1' }, service_tier: 'auto' }));
  });
});

describe('Anthropic tools as job specs', () => {
  const WEATHER = { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

  it('forces a call of any tool, or of a named one, under the tool-call grammar', () => {
    const any = spec({ tools: [WEATHER, { name: 'now', input_schema: { type: 'object', properties: {} } }], tool_choice: { type: 'any' } });
    assert.equal((any.sampling.format as unknown as { schema: { oneOf: unknown[] } }).schema.oneOf.length, 2);
    const named = spec({ tools: [WEATHER], tool_choice: { type: 'tool', name: 'get_weather' } });
    assert.deepEqual((named.sampling.format as unknown as { schema: { properties: { name: unknown } } }).schema.properties.name, { const: 'get_weather' });
    assert.equal(spec({ tools: [WEATHER], tool_choice: { type: 'none' } }).sampling.format, undefined);
  });

  it('puts tool_use and tool_result blocks into the history as text', () => {
    const job = spec({
      tools: [WEATHER],
      tool_choice: { type: 'none' },
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: [{ type: 'text', text: 'Let me look.' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'Snow' }] }, { type: 'text', text: 'And?' }] },
      ],
    });
    assert.deepEqual((job.input as { messages: unknown[] }).messages, [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: 'Let me look.\n{"name":"get_weather","arguments":{"city":"Oslo"}}' },
      { role: 'user', content: 'Tool result (call toolu_1): Snow' },
      { role: 'user', content: 'And?' },
    ]);
  });

  it('reads auto (the default with tools) as a choice between a call and text, and names Anthropic fields in schema errors', () => {
    assert.equal(replyModeOfMessages({ tools: [WEATHER] as never }), 'auto');
    assert.equal(replyModeOfMessages({ tools: [WEATHER] as never, tool_choice: { type: 'any' } }), 'call');
    assert.equal(replyModeOfMessages({ tools: [WEATHER] as never, tool_choice: { type: 'none' } }), 'text');
    assert.equal((spec({ tools: [WEATHER] }).sampling.format as unknown as { schema: { oneOf: unknown[] } }).schema.oneOf.length, 2);
    assert.equal(refusal(() => spec({ tools: [WEATHER], tool_choice: { type: 'tool', name: 'nope' } })).param, 'tool_choice.name');
    const strict = { name: 'count', strict: true, input_schema: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } } } };
    assert.equal(refusal(() => spec({ tools: [WEATHER, strict], tool_choice: { type: 'any' } })).param, 'tools[1].input_schema.properties.n.minimum');
  });
});

describe('Anthropic replies', () => {
  it('names the stop sequence found after the output in the tokens’ texts, else end_turn or max_tokens', () => {
    const tokens = (...texts: string[]) => texts.map((token) => ({ token, logprob: -1, top: [] }));
    assert.deepEqual(stopOf({ finishReason: 'stop', output: 'Once upon', logprobs: tokens('Once', ' upon', ' a') }, [' a', 'zz']), { reason: 'stop_sequence', sequence: ' a' });
    assert.deepEqual(stopOf({ finishReason: 'stop', output: 'Once upon', logprobs: tokens('Once', ' upon') }, [' a']), { reason: 'end_turn', sequence: null });
    assert.deepEqual(stopOf({ finishReason: 'stop', output: 'Once' }, []), { reason: 'end_turn', sequence: null });
    assert.deepEqual(stopOf({ finishReason: 'length', output: 'Once' }, [' a']), { reason: 'max_tokens', sequence: null });
  });

  it("answers errors in Anthropic's shape, typed by status", () => {
    assert.deepEqual(anthropicErrorBody(new ApiError(401, 'invalid_api_key', 'no')), { type: 'error', error: { type: 'authentication_error', message: 'no' } });
    assert.equal(anthropicErrorBody(new ApiError(404, 'model_not_found', 'x')).error.type, 'not_found_error');
    assert.equal(anthropicErrorBody(new ApiError(503, 'busy', 'x')).error.type, 'overloaded_error');
    assert.equal(anthropicErrorBody(new ApiError(502, 'engine', 'x')).error.type, 'api_error');
    assert.equal(anthropicErrorBody(new ApiError(400, null, 'x')).error.type, 'invalid_request_error');
  });
});
