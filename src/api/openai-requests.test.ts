import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from './api-error.js';
import { ChatCompletionRequest, chatJobSpec, CompletionRequest, completionJobSpec, DEFAULT_CHAT_MAX_TOKENS, DEFAULT_COMPLETION_MAX_TOKENS, parseRequestBody } from './openai-requests.js';
import { completionChunk, completionResponse, usageChunk } from './openai-responses.js';

const JOB_ID = 'job-0123456789';
const chat = (body: object) => chatJobSpec(parseRequestBody(ChatCompletionRequest, { model: 'stories260K', messages: [{ role: 'user', content: 'hi' }], ...body }), JOB_ID, 1_000);
const completion = (body: object) => completionJobSpec(parseRequestBody(CompletionRequest, { model: 'stories260K', prompt: 'Once', ...body }), JOB_ID, 1_000);

function refusal(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error;
  }
  assert.fail('the request was accepted');
}

describe('OpenAI request bodies as job specs', () => {
  it('sends chat messages for the engine to template, developer as system and text parts joined', () => {
    const spec = chat({ messages: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] });
    assert.deepEqual(spec.input, { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'a\nb' }] });
    assert.equal(spec.model.name, 'stories260K');
    assert.equal(spec.jobId, JOB_ID);
  });

  it("uses OpenAI's defaults: temperature 1, no chat limit but the context, 16 completion tokens", () => {
    assert.equal(chat({}).sampling.temperature, 1);
    assert.equal(chat({}).sampling.maxTokens, DEFAULT_CHAT_MAX_TOKENS);
    assert.equal(completion({}).sampling.maxTokens, DEFAULT_COMPLETION_MAX_TOKENS);
    assert.equal(completion({}).deadline, 1_000 + 300_000);
  });

  it('maps the sampling fields, max_completion_tokens over max_tokens, and a stop string to a list', () => {
    const { sampling } = chat({ max_tokens: 10, max_completion_tokens: 20, temperature: 0, top_p: 0.9, seed: 7, stop: 'END' });
    assert.deepEqual(sampling, { temperature: 0, maxTokens: 20, topP: 0.9, seed: 7, stop: ['END'] });
    assert.deepEqual(completion({ stop: ['a', 'b'], prompt: ['only one'] }).sampling.stop, ['a', 'b']);
    assert.deepEqual(completion({ prompt: ['only one'] }).input, { prompt: 'only one' });
  });

  it('takes the Infernet options from the `infernet` field', () => {
    const spec = chat({ infernet: { price_cap: { amount: '0.02', currency: 'USDC' }, verification: { kind: 'redundant', k: 2 }, timeout_s: 5 } });
    assert.deepEqual(spec.priceCap, { amount: '0.02', currency: 'USDC', per: '1k_tokens' });
    assert.deepEqual(spec.verification, { kind: 'redundant', k: 2 });
    assert.equal(spec.deadline, 6_000);
  });

  it('ignores null and unused OpenAI fields that change nothing here', () => {
    assert.equal(chat({ temperature: null, user: 'u', frequency_penalty: 0, tools: [], logprobs: false, n: 1 }).sampling.temperature, 1);
  });

  const refusals: Array<[string, () => unknown, string]> = [
    ['a temperature above 2', () => chat({ temperature: 2.5 }), 'temperature'],
    ['a role the engine has no template for', () => chat({ messages: [{ role: 'tool', content: 'x' }] }), 'messages[0].role'],
    ['no messages', () => chat({ messages: [] }), 'messages'],
    ['more than one choice', () => chat({ n: 2 }), 'n'],
    ['tools', () => chat({ tools: [{ type: 'function' }] }), 'tools'],
    ['an empty stop sequence', () => chat({ stop: ['x', ''] }), 'stop[1]'],
    ['a negative seed', () => chat({ seed: -1 }), 'seed'],
    ['several prompts', () => completion({ prompt: ['a', 'b'] }), 'prompt'],
    ['token-id prompts', () => completion({ prompt: [1, 2] }), 'prompt'],
    ['echo', () => completion({ echo: true }), 'echo'],
    ['a malformed price cap', () => chat({ infernet: { price_cap: { amount: 'cheap', currency: 'USDC' } } }), 'infernet.price_cap.amount'],
    ['an unknown Infernet option', () => chat({ infernet: { priority: 'high' } }), 'infernet'],
  ];
  for (const [what, run, param] of refusals) {
    it(`refuses ${what} with 400 naming ${param}`, () => {
      const error = refusal(run);
      assert.equal(error.status, 400);
      assert.equal(error.param, param);
      assert.equal(error.toBody().error.type, 'invalid_request_error');
    });
  }

  it('refuses a body that is not an object', () => assert.equal(refusal(() => parseRequestBody(ChatCompletionRequest, [1])).status, 400));
});

describe('OpenAI response shapes', () => {
  const outcome = { output: 'Hello', tokens: 2, promptTokens: 3, finishReason: 'length', engine: 'llama.cpp/test' } as Parameters<typeof completionResponse>[1];
  const context = { kind: 'chat' as const, jobId: JOB_ID, model: 'm', created: 1 };

  it('builds a chat.completion with usage and the engine as fingerprint', () => {
    assert.deepEqual(completionResponse(context, outcome), {
      id: `chatcmpl-${JOB_ID}`,
      object: 'chat.completion',
      created: 1,
      model: 'm',
      system_fingerprint: 'llama.cpp/test',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello', refusal: null }, logprobs: null, finish_reason: 'length' }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
  });

  it('builds text_completion chunks and a final usage chunk with no choices', () => {
    const text = { ...context, kind: 'text' as const };
    assert.deepEqual(completionChunk(text, { text: 'He' }), { id: `cmpl-${JOB_ID}`, object: 'text_completion', created: 1, model: 'm', system_fingerprint: null, choices: [{ index: 0, text: 'He', logprobs: null, finish_reason: null }] });
    assert.deepEqual((usageChunk(text, outcome) as { choices: unknown[] }).choices, []);
    assert.deepEqual((completionChunk(context, { finish: 'stop' }) as { choices: unknown[] }).choices, [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
  });
});
