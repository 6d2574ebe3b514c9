import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobOutcome } from '../client/job-client.js';
import { ApiError } from './api-error.js';
import { ChatCompletionRequest, chatJobSpec, choiceSpecs, CompletionRequest, completionJobSpec, DEFAULT_CHAT_MAX_TOKENS, DEFAULT_COMPLETION_MAX_TOKENS, parseRequestBody } from './openai-requests.js';
import { completionChunk, completionResponse, logprobsOf, usageChunk } from './openai-responses.js';

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

  it('accepts null and unused OpenAI fields that change nothing here', () => {
    assert.deepEqual(chat({ temperature: null, user: 'u', frequency_penalty: 0, tools: [], logprobs: false, n: 1, response_format: { type: 'text' } }).sampling, { temperature: 1, maxTokens: DEFAULT_CHAT_MAX_TOKENS });
  });

  it('carries penalties and logit_bias (token ids of the model) to the engine', () => {
    const { sampling } = chat({ presence_penalty: 0.5, frequency_penalty: -1, logit_bias: { '13': -100, '42': 5 } });
    assert.equal(sampling.presencePenalty, 0.5);
    assert.equal(sampling.frequencyPenalty, -1);
    assert.deepEqual(sampling.logitBias, [[13, -100], [42, 5]]);
  });

  it('asks for logprobs with their alternatives: top_logprobs for chat, logprobs for legacy completions', () => {
    assert.equal(chat({ logprobs: true, top_logprobs: 3 }).logprobs, 3);
    assert.equal(chat({ logprobs: true }).logprobs, 0);
    assert.equal(chat({}).logprobs, undefined);
    assert.equal(completion({ logprobs: 2 }).logprobs, 2);
  });

  it('turns response_format into a grammar: any JSON object, or a schema in the grammar dialect', () => {
    assert.deepEqual(chat({ response_format: { type: 'json_object' } }).sampling.format, { type: 'json' });
    const schema = { type: 'object', title: 'Person', properties: { name: { type: 'string', maxLength: 8 }, pet: { anyOf: [{ type: 'string' }, { type: 'null' }] } }, required: ['name'], additionalProperties: false };
    assert.deepEqual(chat({ response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } } }).sampling.format, {
      type: 'json_schema',
      schema: { type: 'object', properties: { name: { type: 'string', maxLength: 8 }, pet: { oneOf: [{ type: 'string' }, { type: 'null' }] } }, required: ['name'], additionalProperties: false },
    });
    const loose = chat({ response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'integer', minimum: 3 } } } });
    assert.deepEqual(loose.sampling.format, { type: 'json_schema', schema: { type: 'integer' } }, 'not strict: what the grammar cannot enforce is best effort, as at OpenAI');
  });

  it('runs n choices as n jobs with fresh ids and their own seeds', () => {
    const specs = choiceSpecs(chat({ n: 3, seed: 7 }), 3, (() => { let i = 0; return () => `job-extra-${++i}`; })());
    assert.deepEqual(specs.map((spec) => [spec.jobId, spec.sampling.seed]), [[JOB_ID, 7], ['job-extra-1', 8], ['job-extra-2', 9]]);
  });

  const refusals: Array<[string, () => unknown, string]> = [
    ['a temperature above 2', () => chat({ temperature: 2.5 }), 'temperature'],
    ['a role the engine has no template for', () => chat({ messages: [{ role: 'function', content: 'x' }] }), 'messages[0].role'],
    ['no messages', () => chat({ messages: [] }), 'messages'],
    ['more choices than a request may run', () => chat({ n: 9 }), 'n'],
    ['a function tool without its function', () => chat({ tools: [{ type: 'function' }], tool_choice: 'required' }), 'tools[0].function'],
    ['a parameter OpenAI has and Infernet does not', () => chat({ prediction: { type: 'content', content: 'x' } }), 'prediction'],
    ['a parameter nobody has, rather than ignore it', () => chat({ temprature: 0 }), 'temprature'],
    ['top_logprobs without logprobs', () => chat({ top_logprobs: 2 }), 'top_logprobs'],
    ['more than 5 legacy logprobs', () => completion({ logprobs: 6 }), 'logprobs'],
    ['a strict schema keyword the grammar cannot enforce', () => chat({ response_format: { type: 'json_schema', json_schema: { name: 'n', strict: true, schema: { type: 'object', properties: { age: { type: 'integer', minimum: 0 } } } } } }), 'response_format.json_schema.schema.properties.age.minimum'],
    ['a schema that allows any value', () => chat({ response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { properties: {} } } } }), 'response_format.json_schema.schema'],
    ['an unknown response format', () => chat({ response_format: { type: 'yaml' } }), 'response_format.type'],
    ['an empty stop sequence', () => chat({ stop: ['x', ''] }), 'stop[1]'],
    ['a negative seed', () => chat({ seed: -1 }), 'seed'],
    ['several prompts', () => completion({ prompt: ['a', 'b'] }), 'prompt'],
    ['token-id prompts', () => completion({ prompt: [1, 2] }), 'prompt'],
    ['echo', () => completion({ echo: true }), 'echo'],
    ['a malformed price cap', () => chat({ infernet: { price_cap: { amount: 'cheap', currency: 'USDC' } } }), 'infernet.price_cap.amount'],
    ['an unknown Infernet option', () => chat({ infernet: { priority: 'high' } }), 'infernet.priority'],
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
  const outcome = { output: 'Hello', tokens: 2, promptTokens: 3, finishReason: 'length', engine: 'llama.cpp/test' } as JobOutcome;
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
    assert.deepEqual(completionChunk(text, { index: 0, text: 'He' }), { id: `cmpl-${JOB_ID}`, object: 'text_completion', created: 1, model: 'm', system_fingerprint: null, choices: [{ index: 0, text: 'He', logprobs: null, finish_reason: null }] });
    assert.deepEqual((usageChunk(text, [outcome]) as { choices: unknown[] }).choices, []);
    assert.deepEqual((completionChunk(context, { index: 0, finish: 'stop' }) as { choices: unknown[] }).choices, [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
  });

  it('answers n choices with the prompt counted once in usage', () => {
    const body = completionResponse(context, [outcome, { ...outcome, output: 'Hi', tokens: 1, finishReason: 'stop' }]) as { choices: Array<{ index: number; finish_reason: string }>; usage: object };
    assert.deepEqual(body.choices.map((choice) => [choice.index, choice.finish_reason]), [[0, 'length'], [1, 'stop']]);
    assert.deepEqual(body.usage, { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
  });

  it("writes logprobs in chat's content list and in legacy completions' parallel lists", () => {
    const logprobs = [{ token: ' a', logprob: -0.5, top: [{ token: ' a', logprob: -0.5 }, { token: 'é', logprob: -2 }] }, { token: 'b', logprob: -1, top: [] }];
    assert.deepEqual(logprobsOf('chat', logprobs), {
      content: [
        { token: ' a', logprob: -0.5, bytes: [32, 97], top_logprobs: [{ token: ' a', logprob: -0.5, bytes: [32, 97] }, { token: 'é', logprob: -2, bytes: [195, 169] }] },
        { token: 'b', logprob: -1, bytes: [98], top_logprobs: [] },
      ],
      refusal: null,
    });
    assert.deepEqual(logprobsOf('text', logprobs), { tokens: [' a', 'b'], token_logprobs: [-0.5, -1], top_logprobs: [{ ' a': -0.5, é: -2 }, {}], text_offset: [0, 2] });
  });
});

describe('OpenAI tools as job specs', () => {
  const WEATHER = { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Oslo'] } }, required: ['city'] } } };
  const TIME = { type: 'function', function: { name: 'get_time' } };

  it('forces a named call under a grammar for that tool alone, with the tools described in the system prompt', () => {
    const spec = chat({ tools: [WEATHER, TIME], tool_choice: { type: 'function', function: { name: 'get_weather' } }, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Weather?' }] });
    const format = spec.sampling.format;
    assert.equal(format?.type, 'json_schema');
    assert.deepEqual((format as unknown as { schema: { properties: { name: unknown } } }).schema.properties.name, { const: 'get_weather' });
    const input = spec.input as { messages: Array<{ role: string; content: string }> };
    assert.equal(input.messages.length, 2, 'the tool prompt joins the system message');
    assert.match(input.messages[0]!.content, /^Be brief\.\n\nYou have these tools:\n- get_weather: Weather/);
    assert.doesNotMatch(input.messages[0]!.content, /get_time/);
  });

  it('forces a call of any tool with required, and none leaves decoding free', () => {
    const required = chat({ tools: [WEATHER, TIME], tool_choice: 'required' });
    assert.equal((required.sampling.format as unknown as { schema: { oneOf: unknown[] } }).schema.oneOf.length, 2);
    const none = chat({ tools: [WEATHER], tool_choice: 'none' });
    assert.equal(none.sampling.format, undefined);
    assert.deepEqual(none.input, { messages: [{ role: 'user', content: 'hi' }] });
  });

  it('puts earlier calls and their results in the history as text', () => {
    const spec = chat({
      tools: [WEATHER],
      tool_choice: 'required',
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'Snow' },
      ],
    });
    const messages = (spec.input as { messages: Array<{ role: string; content: string }> }).messages;
    assert.deepEqual(messages.slice(1), [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '{"name":"get_weather","arguments":{"city":"Oslo"}}' },
      { role: 'user', content: 'Tool result (call call_1): Snow' },
    ]);
  });

  it('lets the model choose under auto (the default with tools): a grammar whose first branch is a call, then an answer in text', () => {
    const spec = chat({ tools: [WEATHER] });
    assert.deepEqual(spec, chat({ tools: [WEATHER], tool_choice: 'auto' }));
    const format = spec.sampling.format as { type: string; schema: { oneOf: Array<{ properties: Record<string, unknown> }> } };
    assert.equal(format.type, 'json_schema');
    assert.deepEqual(format.schema.oneOf.map((branch) => Object.keys(branch.properties)), [['name', 'arguments'], ['response']]);
    const system = (spec.input as { messages: Array<{ role: string; content: string }> }).messages[0]!;
    assert.equal(system.role, 'system');
    assert.match(system.content, /get_weather[\s\S]*When no tool is needed, answer instead with \{"response"/);
  });

  it('refuses choices or schemas it cannot honour, by name', () => {
    assert.equal(refusal(() => chat({ tools: [WEATHER], response_format: { type: 'json_object' } })).param, 'response_format');
    assert.equal(refusal(() => chat({ tool_choice: 'required' })).param, 'tool_choice');
    assert.equal(refusal(() => chat({ tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'nope' } } })).param, 'tool_choice.function.name');
    assert.equal(refusal(() => chat({ tools: [WEATHER], tool_choice: 'required', response_format: { type: 'json_object' } })).param, 'response_format');
    const strict = { type: 'function', function: { name: 'count', strict: true, parameters: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } } } } };
    assert.equal(refusal(() => chat({ tools: [WEATHER, strict], tool_choice: 'required' })).param, 'tools[1].function.parameters.properties.n.minimum');
    assert.equal(refusal(() => chat({ messages: [{ role: 'tool', content: 'x' }] })).param, 'messages[0].tool_call_id');
  });

  it('answers a parsed call as tool_calls with finish_reason tool_calls, and streams its name then its arguments', () => {
    const context = { kind: 'chat' as const, jobId: 'a-b', model: 'm', created: 1, mode: 'call' as const };
    const outcome = { output: '{"name": "get_weather", "arguments": {"city": "Oslo"}}', finishReason: 'stop', tokens: 9, promptTokens: 3, engine: 'e' } as JobOutcome;
    const choice = (completionResponse(context, outcome) as { choices: Array<{ message: unknown; finish_reason: string }> }).choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.deepEqual(choice.message, { role: 'assistant', content: null, tool_calls: [{ id: 'call_ab_0', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Oslo"}' } }], refusal: null });
    const cut = (completionResponse(context, { ...outcome, output: '{"name": "get_weather", "argu', finishReason: 'length' }) as { choices: Array<{ finish_reason: string }> }).choices[0]!;
    assert.equal(cut.finish_reason, 'length');
    const first = completionChunk(context, { index: 0, toolCall: { id: 'call_ab_0', name: 'get_weather' } }) as { choices: Array<{ delta: unknown }> };
    assert.deepEqual(first.choices[0]!.delta, { tool_calls: [{ index: 0, id: 'call_ab_0', type: 'function', function: { name: 'get_weather', arguments: '' } }] });
  });

  it('answers under auto either the call or the text of the response string, with finish_reason stop', () => {
    const context = { kind: 'chat' as const, jobId: 'a-b', model: 'm', created: 1, mode: 'auto' as const };
    const outcome = { output: '{"name": "get_weather", "arguments": {"city": "Oslo"}}', finishReason: 'stop', tokens: 9, promptTokens: 3, engine: 'e' } as JobOutcome;
    const choiceOf = (output: string) => (completionResponse(context, { ...outcome, output }) as { choices: Array<{ message: { content: string | null }; finish_reason: string }> }).choices[0]!;
    assert.equal(choiceOf(outcome.output).finish_reason, 'tool_calls');
    const text = choiceOf('{"response": "It snows in \\"Oslo\\"."}');
    assert.equal(text.finish_reason, 'stop');
    assert.equal(text.message.content, 'It snows in "Oslo".');
  });
});
