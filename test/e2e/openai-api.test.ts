// The OpenAI-compatible API (and Ollama's) as its users meet it: the official `openai` and `ollama` clients against `infernet start` on a
// client home, which runs each request as a job through a separate aggregator and provider process.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI, { APIError, AuthenticationError, BadRequestError, InternalServerError, NotFoundError } from 'openai';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { eventually, runCli, type RunningDaemon } from '../support/cli.js';
import { API_TEST_MODEL as MODEL, startApiNetwork, type ApiNetwork } from './api-network.js';

const STORY = [{ role: 'user' as const, content: 'Once upon a time' }];
/** Long enough (several seconds on these machines) that a cancel always lands while the job runs. */
const LONG_JOB_TOKENS = 1500;

interface JobRow {
  jobId: string;
  state: string;
  tokens?: number;
}

describe('the OpenAI-compatible API of a client node', () => {
  let network: ApiNetwork;
  let provider: RunningDaemon;
  let client: RunningDaemon;
  let openai: OpenAI;
  let apiKey: string;
  const jobsOf = async (node: string): Promise<JobRow[]> => JSON.parse((await runCli(['jobs', '--home', network.home(node), '--json'])).stdout) as JobRow[];

  before(async () => {
    network = await startApiNetwork();
    ({ provider, client, apiKey } = network);
    openai = new OpenAI({ apiKey, baseURL: `${client.api}/v1`, maxRetries: 0 });
    await eventually(async () => (await openai.models.list()).data.length > 0, 15_000, 'the aggregator to reach its provider');
  });

  after(async () => {
    await network?.stop();
  });

  it('lists the models the network serves now', async () => {
    const models = await openai.models.list();
    assert.deepEqual(
      models.data.map((model) => [model.id, model.object, model.owned_by]),
      [[MODEL, 'model', 'infernet']],
    );
    assert.equal((await openai.models.retrieve(MODEL)).id, MODEL);
  });

  let greedyChat = '';
  it('answers a chat completion with usage, and the job id and provider npub in headers', async () => {
    const { data, response } = await openai.chat.completions.create({ model: MODEL, messages: STORY, max_tokens: 32, temperature: 0 }).withResponse();
    assert.match(response.headers.get('x-infernet-job-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(response.headers.get('x-infernet-provider'), provider.npub);
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.id, `chatcmpl-${response.headers.get('x-infernet-job-id')}`);
    assert.equal(data.choices[0]?.message.role, 'assistant');
    assert.equal(data.choices[0]?.finish_reason, 'length');
    assert.equal(data.usage?.completion_tokens, 32);
    assert.ok((data.usage?.prompt_tokens ?? 0) > 4, 'the prompt went through the chat template');
    assert.equal(data.usage?.total_tokens, (data.usage?.prompt_tokens ?? 0) + 32);
    greedyChat = data.choices[0]?.message.content ?? '';
    assert.ok(greedyChat.length > 20);
  });

  it('streams a chat completion whose pieces make the same text as the greedy answer, then usage and [DONE]', async () => {
    const stream = await openai.chat.completions.create({ model: MODEL, messages: STORY, max_tokens: 32, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks[0]?.choices[0]?.delta.role, 'assistant');
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    assert.equal(text, greedyChat);
    assert.ok(chunks.filter((chunk) => chunk.choices[0]?.delta.content).length > 1, 'text arrives in several chunks');
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'length');
    assert.deepEqual(chunks.at(-1)?.choices, []);
    assert.equal(chunks.at(-1)?.usage?.completion_tokens, 32);
  });

  it('answers a text completion, streamed and not, with the Infernet options as extra body fields', async () => {
    const request = { model: MODEL, prompt: 'Once upon a time', max_tokens: 24, temperature: 0, infernet: { verification: { kind: 'none' }, timeout_s: 60 } };
    const whole = await openai.completions.create(request);
    assert.equal(whole.object, 'text_completion');
    assert.match(whole.choices[0]?.text ?? '', /^, there was a little girl named Lily/);
    const stream = await openai.completions.create({ ...request, stream: true });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
    assert.equal(streamed, whole.choices[0]?.text);
  });

  it('stops at a stop sequence and says so', async () => {
    const completion = await openai.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 24, temperature: 0, stop: ' named' });
    assert.equal(completion.choices[0]?.text, ', there was a little girl');
    assert.equal(completion.choices[0]?.finish_reason, 'stop');
  });

  const PERSON = {
    type: 'object',
    properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer' }, pet: { type: 'string', enum: ['cat', 'dog'] } },
    required: ['name', 'age', 'pet'],
    additionalProperties: false,
  } as const;

  it('answers JSON valid against a strict json_schema, streamed and not, under a decoding grammar', async () => {
    const request = { model: MODEL, messages: STORY, max_tokens: 120, temperature: 0, response_format: { type: 'json_schema' as const, json_schema: { name: 'person', schema: PERSON, strict: true } } };
    const whole = await openai.chat.completions.create(request);
    assert.equal(whole.choices[0]?.finish_reason, 'stop');
    const person = JSON.parse(whole.choices[0]?.message.content ?? '') as Record<string, unknown>;
    assert.deepEqual(Object.keys(person).sort(), ['age', 'name', 'pet']);
    assert.ok(typeof person.name === 'string' && person.name.length <= 12);
    assert.ok(Number.isInteger(person.age));
    assert.ok(['cat', 'dog'].includes(person.pet as string));
    let streamed = '';
    for await (const chunk of await openai.chat.completions.create({ ...request, stream: true })) streamed += chunk.choices[0]?.delta.content ?? '';
    assert.equal(streamed, whole.choices[0]?.message.content);
    const object = await openai.chat.completions.create({ model: MODEL, messages: STORY, max_tokens: 200, temperature: 0, response_format: { type: 'json_object' } });
    assert.match(object.choices[0]?.message.content ?? '', /^\s*\{/, 'a JSON object from its first character');
  });

  it('refuses with 400 naming it a schema keyword the grammar cannot enforce in strict mode, and a parameter it does not know', async () => {
    const schema = { type: 'object', properties: { age: { type: 'integer', minimum: 0 } }, required: ['age'], additionalProperties: false };
    await assert.rejects(openai.chat.completions.create({ model: MODEL, messages: STORY, response_format: { type: 'json_schema', json_schema: { name: 'n', schema, strict: true } } }), (error: unknown) => {
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.param, 'response_format.json_schema.schema.properties.age.minimum');
      return true;
    });
    await assert.rejects(openai.chat.completions.create({ model: MODEL, messages: STORY, prediction: { type: 'content', content: 'x' } }), (error: unknown) => {
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.param, 'prediction');
      return true;
    });
  });

  it("returns logprobs from the engine's own probabilities, for chat and legacy completions", async () => {
    const chat = await openai.chat.completions.create({ model: MODEL, messages: STORY, max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 3 });
    const content = chat.choices[0]?.logprobs?.content ?? [];
    assert.equal(content.length, 8);
    assert.equal(content.map((entry) => entry.token).join(''), chat.choices[0]?.message.content);
    for (const entry of content) {
      assert.ok(entry.logprob <= 0);
      assert.equal(entry.top_logprobs.length, 3);
      assert.equal(entry.top_logprobs[0]?.token, entry.token, 'greedy: the chosen token is the most likely');
      assert.deepEqual(entry.bytes, [...Buffer.from(entry.token)]);
    }
    const text = await openai.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 6, temperature: 0, logprobs: 2 });
    assert.equal(text.choices[0]?.logprobs?.tokens?.join(''), text.choices[0]?.text);
    assert.equal(text.choices[0]?.logprobs?.top_logprobs?.length, 6);
    const stream = await openai.chat.completions.create({ model: MODEL, messages: STORY, max_tokens: 8, temperature: 0, logprobs: true, stream: true });
    const streamed = [];
    for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
    assert.deepEqual(streamed.map((entry) => entry.token), content.map((entry) => entry.token));
  });

  it('answers n choices, one job each, streamed by index, with penalties and a user id accepted', async () => {
    const request = { model: MODEL, messages: STORY, max_tokens: 12, temperature: 1, seed: 5, n: 2, presence_penalty: 0.5, frequency_penalty: 0.5, user: 'reader-1' };
    const whole = await openai.chat.completions.create(request);
    assert.deepEqual(whole.choices.map((choice) => choice.index), [0, 1]);
    assert.notEqual(whole.choices[0]?.message.content, whole.choices[1]?.message.content, 'each choice samples with its own seed');
    assert.equal(whole.usage?.completion_tokens, 24);
    const texts = ['', ''];
    for await (const chunk of await openai.chat.completions.create({ ...request, stream: true })) for (const choice of chunk.choices) texts[choice.index] += choice.delta.content ?? '';
    assert.deepEqual(texts, whole.choices.map((choice) => choice.message.content));
  });

  it('refuses a wrong API key with 401 invalid_api_key', async () => {
    const stranger = new OpenAI({ apiKey: 'inf_not-a-key-of-this-node', baseURL: `${client.api}/v1`, maxRetries: 0 });
    await assert.rejects(stranger.models.list(), (error: unknown) => {
      assert.ok(error instanceof AuthenticationError);
      assert.equal(error.status, 401);
      assert.equal(error.code, 'invalid_api_key');
      assert.equal(error.type, 'invalid_request_error');
      return true;
    });
  });

  it('refuses a bad request with 400 naming the field', async () => {
    await assert.rejects(openai.chat.completions.create({ model: MODEL, messages: STORY, temperature: 7 }), (error: unknown) => {
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.param, 'temperature');
      return true;
    });
    const response = await fetch(`${client.api}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: 'x'.repeat(1024 * 1024 + 1) });
    assert.equal(response.status, 413);
  });

  it('answers 404 model_not_found for a model no provider serves', async () => {
    await assert.rejects(openai.chat.completions.create({ model: 'gpt-4o', messages: STORY }), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.code, 'model_not_found');
      return true;
    });
  });

  it("serves Ollama's API to the ollama client: version, list, show, ps, with the same key", async () => {
    const ollama = new Ollama({ host: client.api!, headers: { authorization: `Bearer ${apiKey}` } });
    assert.match((await ollama.version()).version, /^\d+\.\d+\.\d+$/);
    // The size and sha256 of the file its provider serves, which the aggregator lists.
    const file = readFileSync(sharedModelPath('stories260K.gguf'));
    assert.deepEqual(
      (await ollama.list()).models.map((model) => [model.name, model.size, model.digest]),
      [[MODEL, file.length, createHash('sha256').update(file).digest('hex')]],
    );
    assert.deepEqual((await ollama.ps()).models.map((model) => [model.name, model.size]), [[MODEL, file.length]]);
    assert.equal((await ollama.show({ model: MODEL })).details.format, 'gguf');
    await assert.rejects(ollama.show({ model: 'llama3' }), (error: unknown) => (error as { status_code?: number }).status_code === 404);
    const stranger = new Ollama({ host: client.api!, headers: { authorization: 'Bearer inf_wrong' } });
    await assert.rejects(stranger.list(), (error: unknown) => (error as { status_code?: number }).status_code === 401);
  });

  it('answers Ollama generate and chat, streamed as NDJSON and not, with format json and a schema', async () => {
    const ollama = new Ollama({ host: client.api!, headers: { authorization: `Bearer ${apiKey}` } });
    const raw = await ollama.generate({ model: MODEL, prompt: 'Once upon a time', raw: true, stream: false, options: { temperature: 0, num_predict: 24 } });
    assert.match(raw.response ?? '', /^, there was a little girl named Lily/);
    assert.equal(raw.done, true);
    assert.equal(raw.eval_count, 24);
    assert.equal(raw.done_reason, 'length');
    let streamed = '';
    let last;
    for await (const part of await ollama.generate({ model: MODEL, prompt: 'Once upon a time', raw: true, stream: true, options: { temperature: 0, num_predict: 24 } })) {
      streamed += part.response;
      last = part;
    }
    assert.equal(streamed, raw.response);
    assert.equal(last?.done, true);
    const chat = await ollama.chat({ model: MODEL, messages: STORY, stream: false, options: { temperature: 0, num_predict: 16 } });
    assert.equal(chat.message.role, 'assistant');
    assert.equal(chat.eval_count, 16);
    let chatStreamed = '';
    for await (const part of await ollama.chat({ model: MODEL, messages: STORY, stream: true, options: { temperature: 0, num_predict: 16 } })) chatStreamed += part.message.content;
    assert.equal(chatStreamed, chat.message.content);
    const structured = await ollama.chat({ model: MODEL, messages: STORY, format: PERSON, stream: false, options: { temperature: 0, num_predict: 120 } });
    const person = JSON.parse(structured.message.content) as Record<string, unknown>;
    assert.deepEqual(Object.keys(person).sort(), ['age', 'name', 'pet']);
    const json = await ollama.generate({ model: MODEL, prompt: 'Once upon a time', format: 'json', stream: false, options: { temperature: 0, num_predict: 200 } });
    assert.match(json.response ?? '', /^\s*\{/);
    await assert.rejects(ollama.chat({ model: MODEL, messages: STORY, options: { mirostat: 2 } }), (error: unknown) => {
      assert.equal((error as { status_code?: number }).status_code, 400);
      assert.match((error as Error).message, /options\.mirostat/);
      return true;
    });
  });

  const WEATHER_TOOL = {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      description: 'The weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Oslo', 'Lima'] }, metric: { type: 'boolean' } }, required: ['city', 'metric'], additionalProperties: false },
      strict: true,
    },
  };
  const TIME_TOOL = { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } }, required: ['zone'], additionalProperties: false } } };
  const matchesParameters = (name: string, args: Record<string, unknown>) =>
    name === 'get_weather'
      ? assert.ok(Object.keys(args).sort().join() === 'city,metric' && ['Paris', 'Oslo', 'Lima'].includes(args.city as string) && typeof args.metric === 'boolean', JSON.stringify(args))
      : assert.ok(Object.keys(args).join() === 'zone' && ['UTC', 'CET'].includes(args.zone as string), JSON.stringify(args));

  it('forces a named tool call whose arguments parse and match its parameters, streamed as tool_calls deltas and not', async () => {
    const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'What is the weather in Oslo?' }], max_tokens: 200, temperature: 0, tools: [WEATHER_TOOL, TIME_TOOL], tool_choice: { type: 'function' as const, function: { name: 'get_weather' } } };
    const whole = await openai.chat.completions.create(request);
    const choice = whole.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls', `not a whole call: ${JSON.stringify(choice.message.content)}`);
    assert.equal(choice.message.content, null);
    const call = choice.message.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.equal(choice.message.tool_calls?.length, 1);
    assert.equal(call.function.name, 'get_weather');
    assert.match(call.id, /^call_[0-9a-f]{32}_0$/);
    matchesParameters(call.function.name, JSON.parse(call.function.arguments) as Record<string, unknown>);
    let name = '';
    let args = '';
    let argumentChunks = 0;
    let finish: string | null | undefined;
    for await (const chunk of await openai.chat.completions.create({ ...request, stream: true })) {
      const delta = chunk.choices[0]?.delta.tool_calls?.[0];
      if (delta?.id) assert.match(delta.id, /^call_[0-9a-f]{32}_0$/);
      name += delta?.function?.name ?? '';
      if (delta?.function?.arguments) argumentChunks++;
      args += delta?.function?.arguments ?? '';
      finish ??= chunk.choices[0]?.finish_reason;
    }
    assert.equal(name, 'get_weather');
    assert.equal(args, call.function.arguments);
    assert.ok(argumentChunks > 1, 'the arguments stream in pieces');
    assert.equal(finish, 'tool_calls');
  });

  it('forces a call of one of the tools with required, and answers the tool result in text with tool_choice none', async () => {
    const messages = [{ role: 'user' as const, content: 'What time is it in Paris?' }];
    const required = await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 200, temperature: 0, tools: [WEATHER_TOOL, TIME_TOOL], tool_choice: 'required', parallel_tool_calls: false });
    const call = required.choices[0]?.message.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.ok(['get_weather', 'get_time'].includes(call.function.name));
    matchesParameters(call.function.name, JSON.parse(call.function.arguments) as Record<string, unknown>);
    const answer = await openai.chat.completions.create({
      model: MODEL,
      messages: [...messages, required.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: '12:00' }],
      max_tokens: 8,
      temperature: 0,
      tools: [WEATHER_TOOL, TIME_TOOL],
      tool_choice: 'none',
    });
    assert.equal(answer.choices[0]?.finish_reason, 'length');
    assert.equal(typeof answer.choices[0]?.message.content, 'string');
    assert.equal(answer.choices[0]?.message.tool_calls, undefined);
  });

  it('lets the model answer in text or call a tool under tool_choice auto (the default), streamed and not, by the contract', async (t) => {
    const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'What is the weather in Oslo?' }], max_tokens: 300, temperature: 0, tools: [WEATHER_TOOL, TIME_TOOL] };
    const whole = await openai.chat.completions.create(request);
    const choice = whole.choices[0]!;
    const call = choice.message.tool_calls?.[0];
    t.diagnostic(`the model chose: ${choice.finish_reason} ${JSON.stringify(call ?? choice.message.content)}`);
    if (choice.finish_reason === 'tool_calls') {
      assert.ok(call?.type === 'function');
      assert.equal(choice.message.content, null);
      matchesParameters(call.function.name, JSON.parse(call.function.arguments) as Record<string, unknown>);
    } else {
      assert.equal(choice.finish_reason, 'stop', JSON.stringify(choice));
      assert.equal(call, undefined);
      assert.equal(typeof choice.message.content, 'string');
      assert.doesNotMatch(choice.message.content ?? '', /^\s*\{\s*"response"/, 'the text, not its JSON wrapper');
    }
    let content = '';
    let args = '';
    let finish: string | null | undefined;
    for await (const chunk of await openai.chat.completions.create({ ...request, tool_choice: 'auto', stream: true })) {
      content += chunk.choices[0]?.delta.content ?? '';
      args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
      finish ??= chunk.choices[0]?.finish_reason;
    }
    assert.equal(finish, choice.finish_reason);
    if (call?.type === 'function') assert.equal(args, call.function.arguments);
    else assert.equal(content, choice.message.content);
    await assert.rejects(openai.chat.completions.create({ ...request, response_format: { type: 'json_object' } }), (error: unknown) => error instanceof BadRequestError && error.param === 'response_format');
  });

  it("answers Ollama chat with tools as message.tool_calls (arguments an object) or text, streamed and not, by the contract", async (t) => {
    const ollama = new Ollama({ host: client.api!, headers: { authorization: `Bearer ${apiKey}` } });
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', required: ['city', 'metric'], properties: { city: { type: 'string', enum: ['Paris', 'Oslo', 'Lima'] }, metric: { type: 'boolean' } } } } }];
    const request = { model: MODEL, messages: [{ role: 'user', content: 'What is the weather in Oslo?' }], tools, options: { temperature: 0, num_predict: 300 } };
    const whole = await ollama.chat({ ...request, stream: false });
    const call = whole.message.tool_calls?.[0];
    t.diagnostic(`the model chose: ${JSON.stringify(call ?? whole.message.content)}`);
    assert.equal(whole.done_reason, 'stop');
    if (call) {
      assert.equal(call.function.name, 'get_weather');
      assert.ok(['Paris', 'Oslo', 'Lima'].includes(call.function.arguments.city as string) && typeof call.function.arguments.metric === 'boolean', JSON.stringify(call.function.arguments));
      assert.equal(whole.message.content, '');
    } else {
      assert.doesNotMatch(whole.message.content, /^\s*\{\s*"response"/, 'the text, not its JSON wrapper');
    }
    let content = '';
    const streamedCalls = [];
    for await (const part of await ollama.chat({ ...request, stream: true })) {
      content += part.message.content;
      streamedCalls.push(...(part.message.tool_calls ?? []));
    }
    assert.deepEqual(streamedCalls, whole.message.tool_calls ?? []);
    assert.equal(content, whole.message.content);
    // The call and its result go back as Ollama writes them: arguments an object, the result a tool message.
    const answer = await ollama.chat({ model: MODEL, messages: [...request.messages, whole.message, { role: 'tool', content: 'Snow', tool_name: 'get_weather' }], stream: false, options: { temperature: 0, num_predict: 8 } });
    assert.equal(typeof answer.message.content, 'string');
  });

  it('keeps a chat completion made with store: true for the stored-completion routes, streamed and not', async () => {
    const request = { model: MODEL, messages: [{ role: 'system' as const, content: 'Tell a story.' }, ...STORY], max_tokens: 8, temperature: 0 };
    const stored = await openai.chat.completions.create({ ...request, store: true, metadata: { run: 'store-test' } });
    const kept = await openai.chat.completions.retrieve(stored.id);
    assert.deepEqual(kept, { ...stored, metadata: { run: 'store-test' } });
    const messages = await openai.chat.completions.messages.list(stored.id);
    assert.deepEqual(messages.data.map((message) => [message.id, message.role, message.content]), [[`${stored.id}-0`, 'system', 'Tell a story.'], [`${stored.id}-1`, 'user', 'Once upon a time']]);

    let streamedText = '';
    let streamedId = '';
    for await (const chunk of await openai.chat.completions.create({ ...request, store: true, metadata: { run: 'store-test' }, stream: true })) {
      streamedId = chunk.id;
      streamedText += chunk.choices[0]?.delta.content ?? '';
    }
    assert.equal((await openai.chat.completions.retrieve(streamedId)).choices[0]?.message.content, streamedText);

    const listed = [];
    for await (const completion of openai.chat.completions.list({ model: MODEL, metadata: { run: 'store-test' }, limit: 1 })) listed.push(completion.id);
    assert.deepEqual(listed, [stored.id, streamedId], 'oldest first, page by page');
    assert.deepEqual((await openai.chat.completions.list({ metadata: { run: 'other' } })).data, []);
    assert.deepEqual((await openai.chat.completions.update(stored.id, { metadata: { run: 'renamed' } })).metadata, { run: 'renamed' });
    assert.deepEqual(await openai.chat.completions.delete(stored.id), { object: 'chat.completion.deleted', id: stored.id, deleted: true });
    await assert.rejects(openai.chat.completions.retrieve(stored.id), NotFoundError);

    const unstored = await openai.chat.completions.create(request);
    await assert.rejects(openai.chat.completions.retrieve(unstored.id), NotFoundError);
    await assert.rejects(openai.chat.completions.create({ ...request, metadata: { run: 'x' } }), (error: unknown) => error instanceof BadRequestError && error.param === 'metadata');
  });

  it('cancels the job at the provider when the client aborts its stream, and serves the next request', async () => {
    const abort = new AbortController();
    const { data: stream, response } = await openai.chat.completions.create({ model: MODEL, messages: STORY, max_tokens: LONG_JOB_TOKENS, temperature: 0, stream: true }, { signal: abort.signal }).withResponse();
    const jobId = response.headers.get('x-infernet-job-id')!;
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) abort.abort();
    await eventually(async () => (await jobsOf('provider')).find((job) => job.jobId === jobId)?.state === 'cancelled', 15_000, 'the provider to record the job cancelled');
    const ran = (await jobsOf('provider')).find((job) => job.jobId === jobId);
    assert.ok((ran?.tokens ?? LONG_JOB_TOKENS) < LONG_JOB_TOKENS, 'stopped before its budget');
    assert.equal((await jobsOf('client')).find((job) => job.jobId === jobId)?.state, 'cancelled');
    const next = await openai.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
    assert.equal(next.usage?.completion_tokens, 8);
  });

  it('ends a stream with an error event when its provider goes away, then answers 503 with no provider left', async () => {
    const stream = await openai.chat.completions.create({ model: MODEL, messages: STORY, max_tokens: LONG_JOB_TOKENS, temperature: 0, stream: true });
    let stopping: Promise<unknown> | undefined;
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) if (chunk.choices[0]?.delta.content) stopping ??= provider.stop('SIGTERM');
      })(),
      (error: unknown) => {
        assert.ok(error instanceof APIError);
        assert.equal(error.code, 'provider_unreachable');
        return true;
      },
    );
    await stopping;
    await eventually(async () => (await openai.models.list()).data.length === 0, 10_000, 'the aggregator to drop the provider');
    await assert.rejects(openai.chat.completions.create({ model: MODEL, messages: STORY, max_tokens: 8 }), (error: unknown) => {
      assert.ok(error instanceof InternalServerError);
      assert.equal(error.status, 503);
      assert.equal(error.code, 'no_provider');
      return true;
    });
  });
});
