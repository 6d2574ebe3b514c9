// Anthropic's Messages API as its users meet it: the official `@anthropic-ai/sdk` client against a client node's API,
// which runs each request as a job through a separate aggregator and provider process.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic, { AuthenticationError, BadRequestError, NotFoundError } from '@anthropic-ai/sdk';
import { eventually } from '../support/cli.js';
import { API_TEST_MODEL as MODEL, startApiNetwork, type ApiNetwork } from './api-network.js';

const STORY = [{ role: 'user' as const, content: 'Once upon a time' }];
/** Sampling fields the API takes and this SDK's types no longer list. */
const sampling = (fields: { temperature?: number; top_p?: number; top_k?: number }): object => fields;
const GREEDY = sampling({ temperature: 0 });

describe("Anthropic's Messages API on a client node", () => {
  let network: ApiNetwork;
  let anthropic: Anthropic;

  before(async () => {
    network = await startApiNetwork();
    anthropic = new Anthropic({ apiKey: network.apiKey, baseURL: network.api, maxRetries: 0 });
    const models = async () => ((await (await fetch(`${network.api}/v1/models`, { headers: { 'x-api-key': network.apiKey } })).json()) as { data: unknown[] }).data;
    await eventually(async () => (await models()).length > 0, 15_000, 'the aggregator to reach its provider');
  });

  after(async () => {
    await network?.stop();
  });

  let greedy = '';
  it('answers a message with usage, its stop reason, and the job id and provider npub in headers', async () => {
    const { data, response } = await anthropic.messages.create({ model: MODEL, max_tokens: 32, ...GREEDY, messages: STORY }).withResponse();
    const jobId = response.headers.get('x-infernet-job-id') ?? '';
    assert.match(jobId, /^[0-9a-f-]{36}$/);
    assert.equal(response.headers.get('x-infernet-provider'), network.provider.npub);
    assert.equal(data.id, `msg_${jobId.replaceAll('-', '')}`);
    assert.equal(data.type, 'message');
    assert.equal(data.role, 'assistant');
    assert.equal(data.model, MODEL);
    assert.equal(data.stop_reason, 'max_tokens');
    assert.equal(data.stop_sequence, null);
    assert.equal(data.usage.output_tokens, 32);
    assert.ok(data.usage.input_tokens > 4, 'the prompt went through the chat template');
    assert.equal(data.content.length, 1);
    const block = data.content[0]!;
    assert.equal(block.type, 'text');
    greedy = block.type === 'text' ? block.text : '';
    assert.ok(greedy.length > 20);
  });

  it('streams the same text as named events, from message_start to message_stop', async () => {
    const events = [];
    for await (const event of await anthropic.messages.create({ model: MODEL, max_tokens: 32, ...GREEDY, messages: STORY, stream: true })) events.push(event);
    const types = events.map((event) => event.type);
    assert.deepEqual(types.slice(0, 2), ['message_start', 'content_block_start']);
    assert.deepEqual(types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
    assert.ok(types.filter((type) => type === 'content_block_delta').length > 1, 'text arrives in several deltas');
    const text = events.map((event) => (event.type === 'content_block_delta' && event.delta.type === 'text_delta' ? event.delta.text : '')).join('');
    assert.equal(text, greedy);
    const delta = events.at(-2);
    assert.ok(delta?.type === 'message_delta');
    assert.equal(delta.delta.stop_reason, 'max_tokens');
    assert.equal(delta.usage.output_tokens, 32);
    const final = await anthropic.messages.stream({ model: MODEL, max_tokens: 32, ...GREEDY, messages: STORY }).finalMessage();
    assert.deepEqual(final.content, [{ type: 'text', text: greedy }]);
    assert.ok(final.usage.input_tokens > 4, 'input tokens arrive with message_delta');
  });

  it('stops at a stop sequence and names it, and takes a system prompt and top_k', async () => {
    const word = greedy.split(' ')[3]!;
    const stopped = await anthropic.messages.create({ model: MODEL, max_tokens: 32, ...GREEDY, messages: STORY, stop_sequences: ['zzz', ` ${word}`] });
    assert.equal(stopped.stop_reason, 'stop_sequence');
    assert.equal(stopped.stop_sequence, ` ${word}`);
    assert.deepEqual(stopped.content, [{ type: 'text', text: greedy.slice(0, greedy.indexOf(` ${word}`)) }]);
    const plain = await anthropic.messages.create({ model: MODEL, max_tokens: 4, ...GREEDY, messages: STORY });
    const withSystem = await anthropic.messages.create({ model: MODEL, max_tokens: 4, ...sampling({ temperature: 0.8, top_k: 5, top_p: 0.9 }), system: 'You tell stories.', messages: STORY });
    assert.ok(withSystem.usage.input_tokens > plain.usage.input_tokens, 'the system prompt is part of the prompt');
    assert.equal(withSystem.usage.output_tokens, 4);
  });

  it('answers JSON valid against output_config.format under a decoding grammar', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 12 }, pet: { type: 'string', enum: ['cat', 'dog'] } }, required: ['name', 'pet'], additionalProperties: false };
    const message = await anthropic.messages.create({ model: MODEL, max_tokens: 80, ...GREEDY, messages: STORY, output_config: { format: { type: 'json_schema', schema } } });
    const block = message.content[0];
    assert.ok(block?.type === 'text');
    const pet = JSON.parse(block.text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(pet).sort(), ['name', 'pet']);
    assert.ok(['cat', 'dog'].includes(pet.pet as string));
  });

  const WEATHER_TOOL = {
    name: 'get_weather',
    description: 'The weather in a city',
    input_schema: { type: 'object' as const, properties: { city: { type: 'string', enum: ['Paris', 'Oslo', 'Lima'] }, metric: { type: 'boolean' } }, required: ['city', 'metric'], additionalProperties: false },
  };
  const matchesWeather = (input: unknown) => {
    const args = input as Record<string, unknown>;
    assert.deepEqual(Object.keys(args).sort(), ['city', 'metric']);
    assert.ok(['Paris', 'Oslo', 'Lima'].includes(args.city as string));
    assert.equal(typeof args.metric, 'boolean');
  };

  it('forces a tool call whose input matches the tool’s input_schema, as a tool_use block streamed and not', async () => {
    const request = { model: MODEL, max_tokens: 200, ...GREEDY, messages: [{ role: 'user' as const, content: 'What is the weather in Oslo?' }], tools: [WEATHER_TOOL], tool_choice: { type: 'tool' as const, name: 'get_weather' } };
    const message = await anthropic.messages.create(request);
    assert.equal(message.stop_reason, 'tool_use');
    const block = message.content[0];
    assert.ok(block?.type === 'tool_use', JSON.stringify(message.content));
    assert.equal(block.name, 'get_weather');
    assert.match(block.id, /^toolu_[0-9a-f]{32}$/);
    matchesWeather(block.input);
    const events = [];
    for await (const event of await anthropic.messages.create({ ...request, stream: true })) events.push(event);
    const start = events.find((event) => event.type === 'content_block_start');
    assert.ok(start?.type === 'content_block_start' && start.content_block.type === 'tool_use');
    assert.equal(start.content_block.name, 'get_weather');
    const json = events.map((event) => (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta' ? event.delta.partial_json : '')).join('');
    assert.deepEqual(JSON.parse(json), block.input);
    const final = await anthropic.messages.stream({ ...request, tool_choice: { type: 'any' } }).finalMessage();
    assert.equal(final.stop_reason, 'tool_use');
    const streamed = final.content[0];
    assert.ok(streamed?.type === 'tool_use');
    matchesWeather(streamed.input);
    const answer = await anthropic.messages.create({
      model: MODEL,
      max_tokens: 4,
      ...GREEDY,
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'none' },
      messages: [...request.messages, { role: 'assistant', content: [block] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: block.id, content: 'Snow' }] }],
    });
    assert.equal(answer.content[0]?.type, 'text');
  });

  it('lets the model answer in a text block or call a tool under tool_choice auto, streamed and not, by the contract', async () => {
    const request = { model: MODEL, max_tokens: 300, ...GREEDY, messages: [{ role: 'user' as const, content: 'What is the weather in Oslo?' }], tools: [WEATHER_TOOL], tool_choice: { type: 'auto' as const } };
    const message = await anthropic.messages.create(request);
    const block = message.content[0];
    if (message.stop_reason === 'tool_use') {
      assert.ok(block?.type === 'tool_use');
      matchesWeather(block.input);
    } else {
      assert.equal(message.stop_reason, 'end_turn', JSON.stringify(message));
      assert.ok(block?.type === 'text');
    }
    const final = await anthropic.messages.stream(request).finalMessage();
    assert.equal(final.stop_reason, message.stop_reason);
    const streamed = final.content[0];
    if (block?.type === 'tool_use') assert.deepEqual(streamed?.type === 'tool_use' && streamed.input, block.input);
    else assert.equal(streamed?.type === 'text' && streamed.text, block?.type === 'text' && block.text);
  });

  it('takes the key as x-api-key or as a bearer token, and refuses a wrong one with an authentication_error', async () => {
    const bearer = new Anthropic({ authToken: network.apiKey, apiKey: null, baseURL: network.api, maxRetries: 0 });
    assert.equal((await bearer.messages.create({ model: MODEL, max_tokens: 2, messages: STORY })).usage.output_tokens, 2);
    const stranger = new Anthropic({ apiKey: 'inf_not-a-key-of-this-node', baseURL: network.api, maxRetries: 0 });
    await assert.rejects(stranger.messages.create({ model: MODEL, max_tokens: 2, messages: STORY }), (error: unknown) => {
      assert.ok(error instanceof AuthenticationError);
      assert.equal(error.type, 'authentication_error');
      return true;
    });
  });

  it('lists and retrieves the network’s models as Anthropic’s model objects, page by page', async () => {
    const listed: string[] = [];
    for await (const model of anthropic.models.list({ limit: 1 })) listed.push(model.id);
    assert.deepEqual(listed, [MODEL]);
    const model = await anthropic.models.retrieve(MODEL);
    assert.equal(model.type, 'model');
    assert.equal(model.display_name, MODEL);
    assert.ok(!Number.isNaN(Date.parse(model.created_at)), model.created_at);
    await assert.rejects(anthropic.models.retrieve('claude-sonnet-4-5'), (error: unknown) => error instanceof NotFoundError && error.type === 'not_found_error');
  });

  it('refuses what it cannot honour with an invalid_request_error naming it, and an unknown model with not_found_error', async () => {
    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ thinking: { type: 'enabled', budget_tokens: 1024 } }, /'thinking'/],
      [sampling({ temperature: 1.5 }) as Record<string, unknown>, /'temperature'/],
      [{ top_logprobs: 2 }, /'top_logprobs'/],
      [{ messages: [...STORY, { role: 'assistant', content: 'Prefill' }] }, /prefill/],
      [{ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'http://127.0.0.1/x.png' } }] }] }, /only text, tool_use and tool_result/],
    ];
    for (const [fields, message] of refusals) {
      await assert.rejects(anthropic.messages.create({ model: MODEL, max_tokens: 2, messages: STORY, ...fields } as never), (error: unknown) => {
        assert.ok(error instanceof BadRequestError, String(error));
        assert.equal(error.type, 'invalid_request_error');
        assert.match(error.message, message);
        return true;
      });
    }
    await assert.rejects(anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 2, messages: STORY }), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.type, 'not_found_error');
      return true;
    });
  });
});
