// OpenAI's Batch API and Anthropic's Message Batches as their users meet them: the official `openai` client uploads
// a JSONL file, creates a batch, polls it and downloads the output, and the `@anthropic-ai/sdk` client creates a
// Message Batch and reads its results, against `infernet start` on an all-in-one home (provider, aggregator and
// API in one daemon), whose batch runner runs each request as a job through its own aggregator.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI, { BadRequestError, NotFoundError, toFile } from 'openai';
import Anthropic, { BadRequestError as AnthropicBadRequest, NotFoundError as AnthropicNotFound } from '@anthropic-ai/sdk';
import { runCli, startDaemon, freePort, type RunningDaemon } from '../support/cli.js';
import { batchInputLines, STORIES_MODEL } from './batch-cluster.js';

const REQUESTS = 20;

describe('/v1/files, /v1/batches and /v1/messages/batches of an all-in-one node', () => {
  let dir: string;
  let node: RunningDaemon;
  let openai: OpenAI;
  let anthropic: Anthropic;
  let completedBatch = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-batch-api-'));
    const home = join(dir, 'node');
    const init = await runCli(['init', '--home', home, '--role', 'all', '--port', String(await freePort()), '--api-port', '0', '--sandbox', 'none', '--model', STORIES_MODEL]);
    assert.equal(init.code, 0, init.stderr);
    const key = await runCli(['apikey', 'create', '--home', home]);
    assert.equal(key.code, 0, key.stderr);
    node = await startDaemon(home, { until: 'api' });
    openai = new OpenAI({ apiKey: key.stdout.trim(), baseURL: `${node.api}/v1`, maxRetries: 0 });
    anthropic = new Anthropic({ apiKey: key.stdout.trim(), baseURL: node.api, maxRetries: 0 });
  });
  after(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads a file, runs the batch, and serves its output in input order', async () => {
    const lines = batchInputLines(REQUESTS, 4).map((line) => {
      const parsed = JSON.parse(line) as { url: string; body: Record<string, unknown> };
      return JSON.stringify({ ...parsed, url: '/v1/chat/completions', body: { model: 'stories260K', messages: [{ role: 'user', content: `Story ${parsed.body.seed}` }], max_tokens: 4, temperature: 0 } });
    });
    const file = await openai.files.create({ file: await toFile(Buffer.from(lines.join('\n')), 'input.jsonl'), purpose: 'batch' });
    assert.match(file.id, /^file-/);
    assert.equal((await openai.files.retrieve(file.id)).bytes, Buffer.byteLength(lines.join('\n')));

    let batch = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    assert.equal(batch.object, 'batch');
    assert.equal(batch.request_counts?.total, REQUESTS);
    for (let polls = 0; polls < 600 && batch.status !== 'completed'; polls++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      batch = await openai.batches.retrieve(batch.id);
    }
    assert.equal(batch.status, 'completed');
    assert.deepEqual(batch.request_counts, { total: REQUESTS, completed: REQUESTS, failed: 0 });
    assert.equal(batch.error_file_id, null);

    const output = (await (await openai.files.content(batch.output_file_id!)).text()).trimEnd().split('\n');
    assert.equal(output.length, REQUESTS);
    output.forEach((line, index) => {
      const parsed = JSON.parse(line) as { custom_id: string; response: { status_code: number; body: { object: string; choices: { message: { content: string } }[] } } };
      assert.equal(parsed.custom_id, `request-${index}`);
      assert.equal(parsed.response.status_code, 200);
      assert.equal(parsed.response.body.object, 'chat.completion');
      assert.equal(typeof parsed.response.body.choices[0]!.message.content, 'string');
    });
    assert.ok((await openai.batches.list()).data.some((listed) => listed.id === batch.id));
    completedBatch = batch.id;
  });

  it('cancels a queued batch at once while another runs, then the running one: answers kept, the rest batch_cancelled', async () => {
    const chatLines = (count: number, maxTokens: number) =>
      batchInputLines(count, maxTokens).map((line) => {
        const parsed = JSON.parse(line) as { custom_id: string; body: { seed: number } };
        return JSON.stringify({ custom_id: parsed.custom_id, method: 'POST', url: '/v1/chat/completions', body: { model: 'stories260K', messages: [{ role: 'user', content: `Story ${parsed.body.seed}` }], max_tokens: maxTokens, temperature: 0 } });
      });
    const upload = async (count: number) => (await openai.files.create({ file: await toFile(Buffer.from(chatLines(count, 64).join('\n')), 'long.jsonl'), purpose: 'batch' })).id;
    const create = async (count: number) => openai.batches.create({ input_file_id: await upload(count), endpoint: '/v1/chat/completions', completion_window: '24h' });
    const until = async (id: string, status: string) => {
      for (let polls = 0; polls < 300; polls++) {
        const batch = await openai.batches.retrieve(id);
        if (batch.status === status) return batch;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`batch ${id} never became ${status}`);
    };
    // Long enough that neither ends on its own during the test: the runner takes one batch at a time.
    const running = await create(400);
    const queued = await create(400);
    await until(running.id, 'in_progress');

    const cancelling = await openai.batches.cancel(queued.id);
    assert.equal(cancelling.status, 'cancelling');
    assert.ok(cancelling.cancelling_at);
    const ended = await until(queued.id, 'cancelled');
    assert.equal((await openai.batches.retrieve(running.id)).status, 'in_progress', 'the queued batch ended while the other ran');
    assert.deepEqual(ended.request_counts, { total: 400, completed: 0, failed: 400 });
    assert.equal(ended.output_file_id, null);
    assert.ok(ended.cancelled_at);
    const queuedErrors = (await (await openai.files.content(ended.error_file_id!)).text()).trimEnd().split('\n');
    assert.equal(queuedErrors.length, 400);
    assert.ok(queuedErrors.every((line) => (JSON.parse(line) as { error: { code: string } }).error.code === 'batch_cancelled'));

    await until(running.id, 'in_progress');
    assert.equal((await openai.batches.cancel(running.id)).status, 'cancelling');
    const stopped = await until(running.id, 'cancelled');
    const counts = stopped.request_counts!;
    assert.equal(counts.completed + counts.failed, 400);
    assert.ok(counts.completed < 400, `the cancel stopped it (${counts.completed} answered)`);
    const errors = stopped.error_file_id ? (await (await openai.files.content(stopped.error_file_id)).text()).trimEnd().split('\n') : [];
    const answers = stopped.output_file_id ? (await (await openai.files.content(stopped.output_file_id)).text()).trimEnd().split('\n') : [];
    assert.equal(answers.length, counts.completed);
    assert.equal(errors.length, counts.failed);
    assert.ok(errors.every((line) => (JSON.parse(line) as { error: { code: string } }).error.code === 'batch_cancelled'));
    assert.equal((await openai.batches.cancel(running.id)).status, 'cancelled', 'a second cancel answers the batch as it is');

    await assert.rejects(openai.batches.cancel(completedBatch), (error: unknown) => error instanceof BadRequestError && /is completed/.test(error.message));
    await assert.rejects(openai.batches.cancel('batch_0000000000000000'), NotFoundError);
  });

  it('pages the batches, lists the uploads and output files page by page, and deletes an upload without touching its batch’s output', async () => {
    const batch = await openai.batches.retrieve(completedBatch);
    const listed: string[] = [];
    for await (const file of openai.files.list({ limit: 2 })) listed.push(file.id);
    assert.ok(listed.includes(batch.input_file_id), 'the upload');
    assert.ok(listed.includes(batch.output_file_id!), 'the output file');
    assert.equal(new Set(listed).size, listed.length, 'each file once across pages');
    const batches: string[] = [];
    for await (const listed of openai.batches.list({ limit: 1 })) batches.push(listed.id);
    assert.equal(batches.length, 3, 'the three batches so far, one page each');
    assert.deepEqual(batches, (await openai.batches.list()).data.map((listed) => listed.id), 'the same batches in one page, newest first');
    assert.equal(batches.at(-1), completedBatch);
    const uploads = await openai.files.list({ purpose: 'batch' });
    assert.ok(uploads.data.every((file) => file.purpose === 'batch'));
    assert.ok(!uploads.data.some((file) => file.id === batch.output_file_id));

    assert.deepEqual(await openai.files.delete(batch.input_file_id), { id: batch.input_file_id, object: 'file', deleted: true });
    await assert.rejects(openai.files.retrieve(batch.input_file_id), NotFoundError);
    await assert.rejects(openai.files.delete(batch.input_file_id), NotFoundError);
    assert.ok(!(await openai.files.list()).data.some((file) => file.id === batch.input_file_id));
    await assert.rejects(openai.files.delete(batch.output_file_id!), (error: unknown) => error instanceof BadRequestError && /stays with the batch/.test(error.message));
    const output = (await (await openai.files.content(batch.output_file_id!)).text()).trimEnd().split('\n');
    assert.equal(output.length, REQUESTS, 'the batch kept its requests and results');
  });

  it('refuses a batch whose file has a bad line, naming the line, and an unknown file', async () => {
    const bad = [JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'stories260K', messages: [] } })];
    const file = await openai.files.create({ file: await toFile(Buffer.from(bad.join('\n')), 'bad.jsonl'), purpose: 'batch' });
    await assert.rejects(openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }), (error: unknown) => error instanceof BadRequestError && /line 1: .*messages/.test(error.message));
    await assert.rejects(openai.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/chat/completions', completion_window: '24h' }), NotFoundError);
    await assert.rejects(openai.batches.retrieve('batch_0000000000000000'), NotFoundError);
  });

  const untilEnded = async (id: string) => {
    for (let polls = 0; polls < 600; polls++) {
      const batch = await anthropic.messages.batches.retrieve(id);
      if (batch.processing_status === 'ended') return batch;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`Message Batch ${id} never ended`);
  };
  const story = (n: number, fields: object = {}) => ({ model: 'stories260K', max_tokens: 12, temperature: 0, messages: [{ role: 'user' as const, content: `Story ${n}` }], ...fields });

  it('runs a Message Batch whose results are what the Messages route answers, in request order', async () => {
    const weather = { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
    const requests = [
      ...[0, 1, 2, 3].map((n) => ({ custom_id: `story-${n}`, params: story(n) })),
      { custom_id: 'tool', params: story(4, { max_tokens: 60, tools: [weather], tool_choice: { type: 'any' } }) },
    ];
    const created = await anthropic.messages.batches.create({ requests } as never);
    assert.match(created.id, /^msgbatch_/);
    assert.equal(created.type, 'message_batch');
    assert.equal(created.results_url, null);
    const ended = await untilEnded(created.id);
    assert.deepEqual(ended.request_counts, { processing: 0, succeeded: 5, errored: 0, canceled: 0, expired: 0 });
    assert.ok(ended.ended_at && ended.results_url);

    const results: Anthropic.Messages.Batches.MessageBatchIndividualResponse[] = [];
    for await (const result of await anthropic.messages.batches.results(created.id)) results.push(result);
    assert.deepEqual(results.map((result) => result.custom_id), ['story-0', 'story-1', 'story-2', 'story-3', 'tool']);
    const messages = results.map((result) => (result.result.type === 'succeeded' ? result.result.message : assert.fail(`${result.custom_id}: ${result.result.type}`)));
    const direct = await anthropic.messages.create(story(2));
    assert.deepEqual(messages[2]!.content, direct.content, 'the same greedy reply as the Messages route');
    assert.equal(messages[2]!.usage.input_tokens, direct.usage.input_tokens);
    const call = messages[4]!;
    assert.equal(call.stop_reason, 'tool_use');
    assert.equal(call.content[0]!.type, 'tool_use');

    const listed: string[] = [];
    for await (const batch of anthropic.messages.batches.list({ limit: 1 })) listed.push(batch.id);
    assert.ok(listed.includes(created.id));
    assert.ok(!(await openai.batches.list()).data.some((batch) => batch.id === created.id), "OpenAI's list holds its own batches");
  });

  it('cancels a Message Batch: answers kept, the rest canceled; deletes it once ended; refuses mixed models naming the request, and unknown ids', async () => {
    // More than a chat request's 1 MiB: a batch's requests come inline.
    const requests = Array.from({ length: 8000 }, (_, n) => ({ custom_id: `long-${n}`, params: story(n, { max_tokens: 64 }) }));
    assert.ok(JSON.stringify({ requests }).length > 1024 * 1024);
    const created = await anthropic.messages.batches.create({ requests });
    const canceling = await anthropic.messages.batches.cancel(created.id);
    assert.ok(canceling.processing_status === 'canceling' || canceling.processing_status === 'ended', canceling.processing_status);
    assert.ok(canceling.cancel_initiated_at);
    const ended = await untilEnded(created.id);
    const counts = ended.request_counts;
    assert.ok(counts.canceled > 0, `the cancel stopped it (${counts.succeeded} answered)`);
    assert.equal(counts.succeeded + counts.canceled, 8000);
    const kinds = new Map<string, number>();
    for await (const result of await anthropic.messages.batches.results(created.id)) kinds.set(result.result.type, (kinds.get(result.result.type) ?? 0) + 1);
    assert.equal(kinds.get('canceled'), counts.canceled);
    assert.equal(kinds.get('succeeded') ?? 0, counts.succeeded);

    assert.deepEqual(await anthropic.messages.batches.delete(created.id), { id: created.id, type: 'message_batch_deleted' });
    await assert.rejects(anthropic.messages.batches.retrieve(created.id), AnthropicNotFound);
    await assert.rejects(anthropic.messages.batches.delete(created.id), AnthropicNotFound);
    const running = await anthropic.messages.batches.create({ requests: requests.slice(0, 2000) });
    await assert.rejects(anthropic.messages.batches.delete(running.id), (error: unknown) => error instanceof AnthropicBadRequest && /cancel it first/.test(error.message));
    await anthropic.messages.batches.cancel(running.id);
    await untilEnded(running.id);
    await anthropic.messages.batches.delete(running.id);

    const mixed = [{ custom_id: 'a', params: story(0) }, { custom_id: 'b', params: { ...story(1), model: 'claude-sonnet-4-5' } }];
    await assert.rejects(anthropic.messages.batches.create({ requests: mixed }), (error: unknown) => error instanceof AnthropicBadRequest && /requests\[1\]: params\.model is \W+claude-sonnet-4-5\W+ but the batch runs/.test(error.message));
    await assert.rejects(anthropic.messages.batches.retrieve('msgbatch_0000000000000000'), AnthropicNotFound);
  });
});
