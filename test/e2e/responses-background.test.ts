// Background responses as the official `openai` client drives them (`background: true`, then `responses.retrieve`
// and `responses.cancel`), against `infernet start` on a client home with a separate aggregator and provider: the
// response is answered queued at once and runs without its client; a streamed one is read on after a lost connection;
// one unfinished when its node stops runs again when it starts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import type { Response, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { eventually, freePort, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';
import { API_TEST_MODEL as MODEL, INCOMPLETE_TEXT_EVENTS, startApiNetwork, type ApiNetwork } from './api-network.js';

const REQUEST = { model: MODEL, instructions: 'Tell a story.', input: 'Once upon a time', max_output_tokens: 24, temperature: 0 } as const;

/** Polls a response until it leaves queued and in_progress. */
async function ended(openai: OpenAI, id: string): Promise<Response> {
  let latest: Response | undefined;
  await eventually(
    async () => {
      latest = await openai.responses.retrieve(id);
      return latest.status !== 'queued' && latest.status !== 'in_progress';
    },
    30_000,
    `response ${id} to end`,
  );
  return latest!;
}

const deltasOf = (events: readonly ResponseStreamEvent[]) => events.flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : [])).join('');

describe('background responses (background: true on POST /v1/responses)', () => {
  let network: ApiNetwork;
  let openai: OpenAI;
  const restarted: RunningDaemon[] = [];
  let foreground: Response;

  before(async () => {
    network = await startApiNetwork({ providerPort: await freePort() });
    openai = new OpenAI({ apiKey: network.apiKey, baseURL: `${network.api}/v1`, maxRetries: 0 });
    await eventually(async () => (await openai.models.list()).data.length > 0, 15_000, 'the aggregator to reach its provider');
    foreground = await openai.responses.create(REQUEST);
    assert.equal(foreground.status, 'incomplete', 'cut at max_output_tokens');
  });

  after(async () => {
    for (const daemon of restarted) await daemon.stop();
    await network?.stop();
  });

  it('answers queued at once, runs without its client, and ends with the answer the same request gets in the foreground', async () => {
    const queued = await openai.responses.create({ ...REQUEST, background: true, metadata: { run: 'one' } });
    assert.equal(queued.status, 'queued');
    assert.equal(queued.background, true);
    assert.deepEqual(queued.output, []);
    assert.deepEqual(queued.metadata, { run: 'one' });
    const done = await ended(openai, queued.id);
    assert.equal(done.id, queued.id);
    assert.equal(done.background, true);
    assert.equal(done.status, foreground.status);
    assert.equal(done.output_text, foreground.output_text);
    assert.deepEqual(done.usage, foreground.usage);
    const items = await openai.responses.inputItems.list(queued.id);
    assert.equal(items.data.length, 1);
    // It continues like any kept response, and cannot be cancelled once ended.
    const followUp = await openai.responses.create({ model: MODEL, previous_response_id: queued.id, input: 'And then?', max_output_tokens: 4, temperature: 0 });
    assert.ok((followUp.usage?.input_tokens ?? 0) > (done.usage?.input_tokens ?? 0));
    await assert.rejects(openai.responses.cancel(queued.id), BadRequestError);
  });

  it('adds its turn to the conversation it was made on once it has ended', async () => {
    const conversation = await openai.conversations.create();
    const queued = await openai.responses.create({ ...REQUEST, background: true, conversation: conversation.id });
    assert.deepEqual(queued.conversation, { id: conversation.id });
    const done = await ended(openai, queued.id);
    const items = (await openai.conversations.items.list(conversation.id, { order: 'asc' })).data;
    assert.deepEqual(items.map((item) => (item.type === 'message' ? item.role : item.type)), ['user', 'assistant']);
    assert.deepEqual(items[1], done.output[0]);
  });

  it('streams from response.created (queued), and a client that lost the stream reads on after the last event it saw', async () => {
    const stream = await openai.responses.create({ ...REQUEST, background: true, stream: true });
    const seen: ResponseStreamEvent[] = [];
    for await (const event of stream) {
      seen.push(event);
      break; // the connection closes: the response goes on
    }
    const created = seen[0]!;
    assert.ok(created.type === 'response.created');
    assert.equal(created.response.status, 'queued');
    assert.equal(created.sequence_number, 0);
    const id = created.response.id;
    const rest: ResponseStreamEvent[] = [];
    for await (const event of await openai.responses.retrieve(id, { stream: true, starting_after: 0 })) rest.push(event);
    const events = [...seen, ...rest];
    assert.deepEqual(events.map((event) => event.sequence_number), events.map((_, index) => index), 'every event once, in order');
    assert.deepEqual([...new Set(events.map((event) => event.type))], INCOMPLETE_TEXT_EVENTS);
    assert.equal(deltasOf(events), foreground.output_text);
    // Read again from the start once it ended: the same events.
    const again: ResponseStreamEvent[] = [];
    for await (const event of await openai.responses.retrieve(id, { stream: true })) again.push(event);
    assert.deepEqual(again, events);
    assert.equal((await openai.responses.retrieve(id)).output_text, foreground.output_text);
  });

  it('ends failed with the reason when its job cannot run, its stream with response.failed', async () => {
    const failed = await ended(openai, (await openai.responses.create({ ...REQUEST, model: 'no-such-model', background: true })).id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error?.code, 'model_not_found');
    const events: ResponseStreamEvent[] = [];
    for await (const event of await openai.responses.create({ ...REQUEST, model: 'no-such-model', background: true, stream: true })) events.push(event);
    assert.deepEqual(events.map((event) => event.type), ['response.created', 'response.failed']);
  });

  it('refuses what background mode cannot do, with 400 naming it', async () => {
    await assert.rejects(openai.responses.create({ ...REQUEST, background: true, store: false }), (error: unknown) => error instanceof BadRequestError && error.param === 'store');
    await assert.rejects(openai.responses.cancel(foreground.id), BadRequestError, 'only background responses are cancelled');
    await assert.rejects(openai.responses.cancel('resp_unknown'), NotFoundError);
    await assert.rejects(openai.responses.retrieve(foreground.id, { stream: true }), (error: unknown) => error instanceof BadRequestError && error.param === 'stream');
  });

  it('waits queued while no provider is free, is cancelled on request, and one unfinished when its node stops runs again at its start', async () => {
    await network.provider.stop();
    await eventually(async () => (await openai.models.list()).data.length === 0, 15_000, 'the aggregator to lose its provider');
    const waiting = await openai.responses.create({ ...REQUEST, background: true });
    const cancelled = await openai.responses.create({ ...REQUEST, background: true });
    // Refused for want of a provider, each asks again every second and stays queued.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal((await openai.responses.retrieve(waiting.id)).status, 'queued');
    assert.equal((await openai.responses.cancel(cancelled.id)).status, 'cancelled');
    assert.equal((await openai.responses.retrieve(cancelled.id)).status, 'cancelled');
    assert.equal((await openai.responses.cancel(cancelled.id)).status, 'cancelled', 'cancelling again answers it as it is');
    await assert.rejects(openai.responses.create({ model: MODEL, previous_response_id: waiting.id, input: 'And then?' }), (error: unknown) => error instanceof BadRequestError && error.param === 'previous_response_id');

    assert.equal(await network.client.stop(), 0);
    const file = JSON.parse(readFileSync(join(network.home('client'), 'responses', `${waiting.id}.json`), 'utf8')) as { response: Response; pending?: object };
    assert.equal(file.response.status, 'queued');
    assert.ok(file.pending, 'kept with its request, to run again');
    restarted.push(await startDaemon(network.home('provider')));
    // The aggregator dials its provider again on its backoff (up to 30 s between tries).
    await eventually(async () => JSON.parse((await runCli(['status', '--home', network.home('aggregator'), '--json'])).stdout).daemon.peers.length > 0, 45_000, 'the aggregator to reach its provider again');
    const client = await startDaemon(network.home('client'), { until: 'api' });
    restarted.push(client);
    const again = new OpenAI({ apiKey: network.apiKey, baseURL: `${client.api}/v1`, maxRetries: 0 });
    const resumed = await ended(again, waiting.id);
    assert.equal(resumed.status, foreground.status);
    assert.equal(resumed.output_text, foreground.output_text);
    assert.equal((await again.responses.retrieve(cancelled.id)).status, 'cancelled', 'a cancelled response is not run again');
  });
});
