// Embeddings as their users ask for them: the official `openai` client's embeddings.create and the `ollama` client's
// embed against `infernet start` on a client home, each request one embed job through a separate aggregator and
// provider process. Beside the real provider, a provider that predates job kinds (a real peer on a real socket that
// speaks the protocol without listing any, as older builds do) shows that only capable providers get embed jobs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI, { APIError, BadRequestError } from 'openai';
import { validateNodeConfig } from '../../src/config/index.js';
import { generateNodeKey } from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';
import { eventually } from '../support/cli.js';
import { API_TEST_MODEL as MODEL, startApiNetwork, type ApiNetwork } from './api-network.js';

/** stories260K's embedding size (n_embd). */
const DIMENSIONS = 64;
/** A model only the older provider serves: an embed job for it has no capable provider. */
const CHAT_ONLY_MODEL = 'chat-only-model';
const STORY = 'Once upon a time';
const OTHER = 'The cat sat on the mat';

const norm = (vector: readonly number[]) => Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));

describe('embeddings on the API of a client node', () => {
  let network: ApiNetwork;
  let openai: OpenAI;
  let ollama: Ollama;
  let olderProvider: PeerSession;
  /** Every job the older provider was offered. */
  const offeredToOlder: string[] = [];

  before(async () => {
    network = await startApiNetwork();
    openai = new OpenAI({ apiKey: network.apiKey, baseURL: `${network.client.api}/v1`, maxRetries: 0 });
    ollama = new Ollama({ host: network.client.api!, headers: { authorization: `Bearer ${network.apiKey}` } });
    // With eight free slots it ranks before the real provider (one slot) for any job it can take.
    olderProvider = await dialPeer(network.aggregator.url, {
      identity: { key: generateNodeKey(), role: 'provider', agent: 'infernet/older', capabilities: () => ({ models: [{ name: MODEL }, { name: CHAT_ONLY_MODEL }], slots: 8 }) },
      limits: validateNodeConfig({}, 'test').limits,
      logger: silentLogger(),
    });
    olderProvider.onFrame((frame) => {
      if (frame.type !== 'job.offer') return;
      offeredToOlder.push(frame.jobId);
      olderProvider.send({ type: 'job.reject', jobId: frame.jobId, code: 'busy', message: 'the older provider takes no jobs in this test' });
    });
    await eventually(async () => (await openai.models.list()).data.some((model) => model.id === CHAT_ONLY_MODEL), 15_000, 'the aggregator to list both providers');
  });

  after(async () => {
    olderProvider?.close();
    await network?.stop();
  });

  let story: number[] = [];
  it('answers embeddings.create with one unit-length vector of the model’s dimension, the job id and provider in headers', async () => {
    const { data, response } = await openai.embeddings.create({ model: MODEL, input: STORY }).withResponse();
    assert.match(response.headers.get('x-infernet-job-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(response.headers.get('x-infernet-provider'), network.provider.npub);
    assert.equal(data.object, 'list');
    assert.equal(data.model, MODEL);
    assert.equal(data.data.length, 1);
    story = [...data.data[0]!.embedding];
    assert.equal(story.length, DIMENSIONS);
    assert.ok(Math.abs(norm(story) - 1) < 1e-5, `unit length, not ${norm(story)}`);
    assert.ok((data.usage.prompt_tokens ?? 0) >= 4, 'the provider counted the tokens it evaluated');
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens);
  });

  it('gives the same input the same vector again, as floats and as base64, and another input another vector', async () => {
    const floats = await openai.embeddings.create({ model: MODEL, input: [STORY, OTHER], encoding_format: 'float' });
    assert.deepEqual(floats.data.map((item) => item.index), [0, 1]);
    assert.deepEqual(floats.data[0]!.embedding, story, 'the same bytes on a second job');
    assert.equal(floats.data[1]!.embedding.length, DIMENSIONS);
    assert.notDeepEqual(floats.data[1]!.embedding, story);
    const base64 = await openai.embeddings.create({ model: MODEL, input: STORY, encoding_format: 'base64' });
    const encoded = base64.data[0]!.embedding as unknown as string;
    const bytes = Buffer.from(encoded, 'base64');
    assert.deepEqual(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)), story);
  });

  it('refuses dimensions other than the model’s with 400 naming it, and takes the model’s own', async () => {
    const refused = await openai.embeddings.create({ model: MODEL, input: STORY, dimensions: 32 }).catch((error: unknown) => error);
    assert.ok(refused instanceof BadRequestError, String(refused));
    assert.equal(refused.param, 'dimensions');
    assert.match(refused.message, /computes 64-dimensional/);
    assert.equal((await openai.embeddings.create({ model: MODEL, input: STORY, dimensions: DIMENSIONS })).data[0]!.embedding.length, DIMENSIONS);
  });

  it('answers the ollama client’s embed with the same vectors', async () => {
    const reply = await ollama.embed({ model: MODEL, input: [STORY, OTHER] });
    assert.equal(reply.model, MODEL);
    assert.equal(reply.embeddings.length, 2);
    assert.deepEqual(reply.embeddings[0], story);
    assert.notDeepEqual(reply.embeddings[1], story);
    assert.ok(reply.prompt_eval_count > 0);
    const single = await ollama.embed({ model: MODEL, input: OTHER });
    assert.deepEqual(single.embeddings, [reply.embeddings[1]]);
    await assert.rejects(ollama.embed({ model: MODEL, input: STORY, truncate: true }), /truncate is not supported/);
  });

  it('answers the ollama client’s older embeddings call with the engine’s own vector, unscaled, as Ollama does', async () => {
    const { embedding } = await ollama.embeddings({ model: MODEL, prompt: STORY });
    assert.equal(embedding.length, DIMENSIONS);
    const length = norm(embedding);
    assert.ok(Math.abs(length - 1) > 1e-3, `the raw vector, not the unit one (length ${length})`);
    embedding.forEach((value, index) => assert.ok(Math.abs(value / length - story[index]!) < 1e-6, `the same direction as embed's at ${index}`));
    assert.deepEqual((await ollama.embeddings({ model: MODEL, prompt: '' })).embedding, [], 'an empty prompt: an empty vector, and no job');
    await assert.rejects(ollama.embeddings({ model: MODEL, prompt: STORY, options: { num_ctx: 64 } }), /'options.num_ctx' is not a parameter Infernet knows/);
  });

  it('offers the provider that lists no embed kind chats of its model, and never an embed job', async () => {
    // It alone serves CHAT_ONLY_MODEL: a chat of that model is offered to it (and fails here, as it refuses).
    await assert.rejects(openai.chat.completions.create({ model: CHAT_ONLY_MODEL, messages: [{ role: 'user', content: STORY }], max_tokens: 4 }));
    assert.equal(offeredToOlder.length, 1, 'the chat was offered to it');
    for (let i = 0; i < 3; i++) {
      const { response } = await openai.embeddings.create({ model: MODEL, input: `${STORY} ${i}` }).withResponse();
      assert.equal(response.headers.get('x-infernet-provider'), network.provider.npub);
    }
    const refused = await openai.embeddings.create({ model: CHAT_ONLY_MODEL, input: STORY }).catch((error: unknown) => error);
    assert.ok(refused instanceof APIError, String(refused));
    assert.equal(refused.status, 503, 'the usual no_provider answer');
    assert.equal(refused.code, 'no_provider');
    assert.match(refused.message, /No provider can take a job for `chat-only-model`/);
    assert.equal(offeredToOlder.length, 1, 'no embed job reached it');
  });
});
