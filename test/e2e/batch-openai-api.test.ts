// OpenAI's Batch API as its users meet it: the official `openai` client uploads a JSONL file, creates a batch,
// polls it and downloads the output, against `infernet start` on an all-in-one home (provider, aggregator and
// API in one daemon), whose batch runner runs each request as a job through its own aggregator.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI, { BadRequestError, NotFoundError, toFile } from 'openai';
import { runCli, startDaemon, freePort, type RunningDaemon } from '../support/cli.js';
import { batchInputLines, STORIES_MODEL } from './batch-cluster.js';

const REQUESTS = 20;

describe('/v1/files and /v1/batches of an all-in-one node', () => {
  let dir: string;
  let node: RunningDaemon;
  let openai: OpenAI;
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

  it('refuses a batch whose file has a bad line, naming the line, and an unknown file', async () => {
    const bad = [JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'stories260K', messages: [] } })];
    const file = await openai.files.create({ file: await toFile(Buffer.from(bad.join('\n')), 'bad.jsonl'), purpose: 'batch' });
    await assert.rejects(openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }), (error: unknown) => error instanceof BadRequestError && /line 1: .*messages/.test(error.message));
    await assert.rejects(openai.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/chat/completions', completion_window: '24h' }), NotFoundError);
    await assert.rejects(openai.batches.retrieve('batch_0000000000000000'), NotFoundError);
  });
});
