// OpenAI's Responses API as its users meet it: the official `openai` client's `responses.create` against
// `infernet start` on a client home, which runs each request as a job through a separate aggregator and provider.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { eventually, type RunningDaemon } from '../support/cli.js';
import { API_TEST_MODEL as MODEL, INCOMPLETE_TEXT_EVENTS, startApiNetwork, type ApiNetwork } from './api-network.js';

const PERSON = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer' }, pet: { type: 'string', enum: ['cat', 'dog'] } },
  required: ['name', 'age', 'pet'],
  additionalProperties: false,
} as const;

const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Oslo', 'Lima'] }, metric: { type: 'boolean' } }, required: ['city', 'metric'], additionalProperties: false },
  strict: true,
};

const isWeatherCall = (args: Record<string, unknown>) => Object.keys(args).sort().join() === 'city,metric' && ['Paris', 'Oslo', 'Lima'].includes(args.city as string) && typeof args.metric === 'boolean';

describe("the Responses API of a client node (POST /v1/responses)", () => {
  let network: ApiNetwork;
  let provider: RunningDaemon;
  let openai: OpenAI;

  before(async () => {
    network = await startApiNetwork();
    provider = network.provider;
    openai = new OpenAI({ apiKey: network.apiKey, baseURL: `${network.api}/v1`, maxRetries: 0 });
    await eventually(async () => (await openai.models.list()).data.length > 0, 15_000, 'the aggregator to reach its provider');
  });

  after(async () => {
    await network?.stop();
  });

  let greedy = '';
  it('answers a string input with instructions as a response object with a message, usage, and the job and provider in headers', async () => {
    const { data, response } = await openai.responses.create({ model: MODEL, instructions: 'Tell a story.', input: 'Once upon a time', max_output_tokens: 32, temperature: 0 }).withResponse();
    const jobId = response.headers.get('x-infernet-job-id') ?? '';
    assert.match(jobId, /^[0-9a-f-]{36}$/);
    assert.equal(response.headers.get('x-infernet-provider'), provider.npub);
    assert.equal(data.object, 'response');
    assert.equal(data.id, `resp_${jobId.replaceAll('-', '')}`);
    assert.equal(data.status, 'incomplete', 'cut at max_output_tokens');
    assert.equal(data.incomplete_details?.reason, 'max_output_tokens');
    assert.equal(data.instructions, 'Tell a story.');
    assert.equal(data.output.length, 1);
    const item = data.output[0]!;
    assert.ok(item.type === 'message' && item.role === 'assistant');
    assert.equal(data.usage?.output_tokens, 32);
    assert.ok((data.usage?.input_tokens ?? 0) > 4);
    assert.equal(data.usage?.total_tokens, (data.usage?.input_tokens ?? 0) + 32);
    greedy = data.output_text;
    assert.ok(greedy.length > 20);
  });

  it('streams the real event sequence, whose text deltas make the same text as the whole answer', async () => {
    const stream = await openai.responses.create({ model: MODEL, instructions: 'Tell a story.', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Once upon a time' }] }], max_output_tokens: 32, temperature: 0, stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    const types = [...new Set(events.map((event) => event.type))];
    assert.deepEqual(types, INCOMPLETE_TEXT_EVENTS);
    assert.deepEqual(events.map((event) => event.sequence_number), events.map((_, index) => index));
    const deltas = events.flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : []));
    assert.ok(deltas.length > 1, 'text arrives in several events');
    assert.equal(deltas.join(''), greedy);
    const done = events.find((event) => event.type === 'response.output_text.done');
    assert.equal(done?.type === 'response.output_text.done' && done.text, greedy);
    const last = events.at(-1)!;
    assert.ok(last.type === 'response.incomplete');
    const message = last.response.output[0];
    assert.equal(message?.type === 'message' && message.content[0]?.type === 'output_text' && message.content[0].text, greedy);
    assert.equal(last.response.usage?.output_tokens, 32);
  });

  it('continues a kept conversation with previous_response_id, retrieves it by id, and answers 404 for one it does not keep', async () => {
    const first = await openai.responses.create({ model: MODEL, input: 'Lily had a red ball.', max_output_tokens: 8, temperature: 0 });
    const second = await openai.responses.create({ model: MODEL, input: 'What did Lily have?', previous_response_id: first.id, max_output_tokens: 8, temperature: 0 });
    assert.equal(second.previous_response_id, first.id);
    const alone = await openai.responses.create({ model: MODEL, input: 'What did Lily have?', max_output_tokens: 8, temperature: 0 });
    // The follow-up's prompt holds the first turn and its answer: at least the first answer's tokens more.
    assert.ok((second.usage?.input_tokens ?? 0) >= (alone.usage?.input_tokens ?? 0) + (first.usage?.output_tokens ?? 0), JSON.stringify([first.usage, second.usage, alone.usage]));
    assert.deepEqual(await openai.responses.retrieve(first.id), first);
    await assert.rejects(openai.responses.create({ model: MODEL, input: 'Hi', previous_response_id: 'resp_unknown' }), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.param, 'previous_response_id');
      assert.equal(error.code, 'previous_response_not_found');
      return true;
    });
    const unkept = await openai.responses.create({ model: MODEL, input: 'Hi', max_output_tokens: 4, temperature: 0, store: false });
    assert.equal((unkept as unknown as { store: boolean }).store, false);
    await assert.rejects(openai.responses.retrieve(unkept.id), (error: unknown) => error instanceof NotFoundError);
  });

  it("lists a kept response's input items page by page through the SDK's pagination, and deletes it", async () => {
    const input = [
      { role: 'user' as const, content: 'Lily had a red ball.' },
      { role: 'assistant' as const, content: 'She loved it.' },
      { role: 'user' as const, content: 'What colour was it?' },
    ];
    const kept = await openai.responses.create({ model: MODEL, input, max_output_tokens: 4, temperature: 0 });
    const listed = [];
    for await (const item of openai.responses.inputItems.list(kept.id, { limit: 2, order: 'asc' })) listed.push(item);
    assert.deepEqual(
      listed.map((item) => (item.type === 'message' ? [item.role, item.content.map((part) => ('text' in part ? part.text : ''))] : item.type)),
      input.map((turn) => [turn.role, [turn.content]]),
    );
    const newestFirst = await openai.responses.inputItems.list(kept.id);
    assert.deepEqual(newestFirst.data.map((item) => item.id), listed.map((item) => item.id).reverse());
    await openai.responses.delete(kept.id);
    await assert.rejects(openai.responses.retrieve(kept.id), (error: unknown) => error instanceof NotFoundError);
    await assert.rejects(openai.responses.inputItems.list(kept.id), (error: unknown) => error instanceof NotFoundError);
    await assert.rejects(openai.responses.delete(kept.id), (error: unknown) => error instanceof NotFoundError);
  });

  it('continues a conversation (conversation: id) as previous_response_id would, adding each turn to its items', async () => {
    const turn = { model: MODEL, max_output_tokens: 8, temperature: 0 } as const;
    const conversation = await openai.conversations.create({ items: [{ role: 'user', content: 'Lily had a red ball.' }], metadata: { topic: 'lily' } });
    assert.match(conversation.id, /^conv_/);
    assert.deepEqual(conversation.metadata, { topic: 'lily' });
    const first = await openai.responses.create({ ...turn, conversation: conversation.id, input: 'She played.' });
    const second = await openai.responses.create({ ...turn, conversation: { id: conversation.id }, input: 'What did Lily have?' });
    assert.deepEqual(second.conversation, { id: conversation.id });
    // The same turns as a chain of previous_response_id: the same prompt, so the same greedy answer.
    const chainFirst = await openai.responses.create({ ...turn, input: [{ role: 'user', content: 'Lily had a red ball.' }, { role: 'user', content: 'She played.' }] });
    const chainSecond = await openai.responses.create({ ...turn, previous_response_id: chainFirst.id, input: 'What did Lily have?' });
    assert.equal(first.output_text, chainFirst.output_text);
    assert.equal(second.output_text, chainSecond.output_text);
    assert.deepEqual(second.usage, chainSecond.usage);

    const items = [];
    for await (const item of openai.conversations.items.list(conversation.id, { limit: 2, order: 'asc' })) items.push(item);
    assert.deepEqual(
      items.map((item) => (item.type === 'message' ? `${item.role}: ${item.content.map((part) => ('text' in part ? part.text : '')).join('')}` : item.type)),
      ['user: Lily had a red ball.', 'user: She played.', `assistant: ${first.output_text}`, 'user: What did Lily have?', `assistant: ${second.output_text}`],
    );
    assert.deepEqual(await openai.conversations.items.retrieve(items[2]!.id!, { conversation_id: conversation.id }), items[2]);
    await openai.conversations.items.delete(items[0]!.id!, { conversation_id: conversation.id });
    assert.equal((await openai.conversations.items.list(conversation.id)).data.length, 4);
    await openai.conversations.items.create(conversation.id, { items: [{ role: 'user', content: 'Then it rained.' }] });
    assert.equal((await openai.conversations.items.list(conversation.id, { limit: 1 })).data[0]?.type, 'message');
    assert.deepEqual((await openai.conversations.update(conversation.id, { metadata: { topic: 'rain' } })).metadata, { topic: 'rain' });
    assert.deepEqual((await openai.conversations.retrieve(conversation.id)).metadata, { topic: 'rain' });

    await assert.rejects(openai.responses.create({ ...turn, conversation: conversation.id, previous_response_id: first.id, input: 'Hi' }), (error: unknown) => error instanceof BadRequestError && error.param === 'conversation');
    assert.deepEqual(await openai.conversations.delete(conversation.id), { id: conversation.id, object: 'conversation.deleted', deleted: true });
    await assert.rejects(openai.conversations.retrieve(conversation.id), NotFoundError);
    await assert.rejects(openai.responses.create({ ...turn, conversation: conversation.id, input: 'Hi' }), (error: unknown) => error instanceof NotFoundError && error.param === 'conversation');
  });

  it("answers each output token's logprob and its top alternatives with include, streamed and not", async () => {
    const request = { model: MODEL, input: 'Once upon a time', max_output_tokens: 8, temperature: 0, include: ['message.output_text.logprobs' as const], top_logprobs: 2 };
    const whole = await openai.responses.create(request);
    const part = whole.output[0]?.type === 'message' ? whole.output[0].content[0] : undefined;
    assert.ok(part?.type === 'output_text');
    const logprobs = part.logprobs ?? [];
    assert.equal(logprobs.length, 8, 'one per output token');
    assert.equal(logprobs.map((entry) => entry.token).join(''), whole.output_text);
    for (const entry of logprobs) {
      assert.equal(entry.top_logprobs.length, 2);
      assert.equal(entry.top_logprobs[0]!.token, entry.token, 'greedy: the most likely token is the one chosen');
      assert.ok(entry.logprob <= 0);
    }
    const events = [];
    for await (const event of await openai.responses.create({ ...request, stream: true })) events.push(event);
    const done = events.find((event) => event.type === 'response.output_text.done');
    const streamed = done?.type === 'response.output_text.done' ? (done.logprobs ?? []) : [];
    // The same tokens; their logprobs agree to float rounding (the engine's sums vary in the last digits between runs).
    assert.deepEqual(streamed.map((entry) => entry.token), logprobs.map((entry) => entry.token));
    streamed.forEach((entry, index) => assert.ok(Math.abs(entry.logprob - logprobs[index]!.logprob) < 1e-3));
    await assert.rejects(openai.responses.create({ model: MODEL, input: 'Hi', top_logprobs: 2 }), (error: unknown) => error instanceof BadRequestError && error.param === 'top_logprobs');
  });

  it('answers JSON valid against a strict json_schema text format, streamed and not, completed', async () => {
    const request = { model: MODEL, input: 'Once upon a time', max_output_tokens: 120, temperature: 0, text: { format: { type: 'json_schema' as const, name: 'person', schema: PERSON, strict: true } } };
    const whole = await openai.responses.create(request);
    assert.equal(whole.status, 'completed');
    const person = JSON.parse(whole.output_text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(person).sort(), ['age', 'name', 'pet']);
    assert.ok(typeof person.name === 'string' && person.name.length <= 12);
    assert.ok(Number.isInteger(person.age));
    assert.ok(['cat', 'dog'].includes(person.pet as string));
    let streamed = '';
    let last = '';
    for await (const event of await openai.responses.create({ ...request, stream: true })) {
      if (event.type === 'response.output_text.delta') streamed += event.delta;
      last = event.type;
    }
    assert.equal(streamed, whole.output_text);
    assert.equal(last, 'response.completed');
    const object = await openai.responses.create({ model: MODEL, input: 'Once upon a time', max_output_tokens: 200, temperature: 0, text: { format: { type: 'json_object' } } });
    assert.match(object.output_text, /^\s*\{/);
  });

  it('forces a function call whose arguments parse and match its parameters, streamed as function_call_arguments deltas and not', async () => {
    const request = { model: MODEL, input: 'What is the weather in Oslo?', max_output_tokens: 200, temperature: 0, tools: [WEATHER_TOOL], tool_choice: { type: 'function' as const, name: 'get_weather' } };
    const whole = await openai.responses.create(request);
    assert.equal(whole.status, 'completed');
    const call = whole.output[0];
    assert.ok(call?.type === 'function_call', JSON.stringify(whole.output));
    assert.equal(call.name, 'get_weather');
    assert.match(call.call_id, /^call_[0-9a-f]{32}_0$/);
    assert.ok(isWeatherCall(JSON.parse(call.arguments) as Record<string, unknown>), call.arguments);
    const events = [];
    for await (const event of await openai.responses.create({ ...request, stream: true })) events.push(event);
    const added = events.find((event) => event.type === 'response.output_item.added');
    assert.ok(added?.type === 'response.output_item.added' && added.item.type === 'function_call' && added.item.name === 'get_weather');
    const deltas = events.flatMap((event) => (event.type === 'response.function_call_arguments.delta' ? [event.delta] : []));
    assert.ok(deltas.length > 1, 'the arguments stream in pieces');
    assert.equal(deltas.join(''), call.arguments);
    const done = events.find((event) => event.type === 'response.function_call_arguments.done');
    assert.equal(done?.type === 'response.function_call_arguments.done' && done.arguments, call.arguments);
    assert.equal(events.at(-1)?.type, 'response.completed');
    // The call's result goes back as a function_call_output item of a follow-up.
    const answer = await openai.responses.create({ model: MODEL, previous_response_id: whole.id, input: [{ type: 'function_call_output', call_id: call.call_id, output: 'Sunny, 21 C' }], max_output_tokens: 8, temperature: 0 });
    assert.equal(answer.output[0]?.type, 'message');
  });

  it('lets the model answer in text or call a function under tool_choice auto (the default), streamed and not, by the contract', async () => {
    const request = { model: MODEL, input: 'What is the weather in Oslo?', max_output_tokens: 300, temperature: 0, tools: [WEATHER_TOOL] };
    const whole = await openai.responses.create(request);
    assert.equal(whole.status, 'completed', JSON.stringify(whole.output));
    const item = whole.output[0]!;
    if (item.type === 'function_call') assert.ok(isWeatherCall(JSON.parse(item.arguments) as Record<string, unknown>), item.arguments);
    else assert.ok(item.type === 'message' && !/^\s*\{\s*"response"/.test(whole.output_text), 'the text, not its JSON wrapper');
    let text = '';
    let args = '';
    let last = '';
    for await (const event of await openai.responses.create({ ...request, stream: true })) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.function_call_arguments.delta') args += event.delta;
      last = event.type;
    }
    assert.equal(last, 'response.completed');
    if (item.type === 'function_call') assert.equal(args, item.arguments);
    else assert.equal(text, whole.output_text);
  });

  it('refuses with 400 naming it a parameter Infernet cannot honour', async () => {
    await assert.rejects(openai.responses.create({ model: MODEL, input: 'Hi', reasoning: { effort: 'high' } }), (error: unknown) => {
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.param, 'reasoning');
      return true;
    });
    await assert.rejects(openai.responses.create({ model: MODEL, input: 'Hi', text: { format: { type: 'json_schema', name: 'n', schema: { type: 'object', properties: { age: { type: 'integer', minimum: 0 } }, required: ['age'], additionalProperties: false }, strict: true } } }), (error: unknown) => {
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.param, 'text.format.schema.properties.age.minimum');
      return true;
    });
  });
});
