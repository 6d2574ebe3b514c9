// The API server in-process: on an all-in-one node (its own aggregator and provider), and with no network at all.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeHome, validateNodeConfig } from '../config/index.js';
import { generateNodeKey } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import { sharedModelPath } from '../models/shared-test-models.js';
import { NodeDaemon } from '../node/index.js';
import { createApiKey } from './api-keys.js';
import { startApiServer, type ApiServer } from './api-server.js';

const until = async (check: () => Promise<boolean>) => {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
};
const tempDir = () => mkdtemp(join(tmpdir(), 'infernet-api-server-'));

/** The fields these tests read, of the success and error bodies alike. */
interface ResponseBody {
  id: string;
  data: Array<{ id: string }>;
  usage: { completion_tokens: number };
  error: { code: string | null; type: string; message: string };
}

async function call(base: string, path: string, init: { key?: string; body?: unknown; method?: string; signal?: AbortSignal } = {}) {
  const response = await fetch(base + path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...(init.key ? { authorization: `Bearer ${init.key}` } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as ResponseBody };
}

describe('the API of an all-in-one node', () => {
  let node: NodeDaemon;
  let api: string;
  let key: string;

  before(async () => {
    const dir = await tempDir();
    const home = nodeHome(dir);
    key = (await createApiKey(home.apiKeysFile)).key;
    const config = validateNodeConfig({ role: 'all', listen: { port: 0 }, models: [sharedModelPath('stories260K.gguf')], provider: { sandbox: 'none' }, storage: { backend: 'file' }, api: { port: 0 } }, 'test');
    node = await NodeDaemon.start({ home, config, key: generateNodeKey(), logger: silentLogger(), writeState: false });
    api = node.apiUrl!;
    await until(async () => (node.aggregator?.providerCount ?? 0) > 0);
  });
  after(() => node?.stop());

  it("lists its own aggregator's models and runs a chat completion through its own provider", async () => {
    const models = await call(api, '/v1/models', { key });
    assert.deepEqual(models.body.data.map((model) => model.id), ['stories260K']);
    const chat = await call(api, '/v1/chat/completions', { key, body: { model: 'stories260K', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, temperature: 0 } });
    assert.equal(chat.status, 200);
    assert.equal(chat.body.usage.completion_tokens, 8);
    assert.equal(chat.headers.get('x-infernet-job-id'), chat.body.id.replace('chatcmpl-', ''));
  });

  it('cancels the job when the client of a non-streamed request disconnects', async () => {
    const since = Date.now();
    const providerJob = async () => (await node.store.list({ role: 'provider' })).find((job) => job.createdAt >= since);
    const abort = new AbortController();
    const pending = call(api, '/v1/completions', { key, body: { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 1500, temperature: 0 }, signal: abort.signal });
    await until(async () => (await providerJob())?.state === 'running');
    abort.abort();
    await assert.rejects(pending);
    await until(async () => (await providerJob())?.state !== 'running');
    assert.equal((await providerJob())?.state, 'cancelled');
  });

  it('answers 504 when the job passes the deadline set by infernet.timeout_s', async () => {
    const late = await call(api, '/v1/completions', { key, body: { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 1500, temperature: 0, infernet: { timeout_s: 0.3 } } });
    assert.equal(late.status, 504);
    assert.equal(late.body.error.code, 'deadline_exceeded');
  });

  it('answers an unknown route with 404 and a wrong method with 405, in OpenAI error bodies', async () => {
    const unknown = await call(api, '/v1/audio/speech', { key, body: {} });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'unknown_url');
    const wrong = await call(api, '/v1/chat/completions', { key, method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.match(wrong.body.error.message, /allowed: POST, GET/);
  });

  it("answers Ollama's heartbeat (HEAD /, the ollama CLI's first request) without a key; GET / stays the interface's", async () => {
    const heartbeat = await fetch(`${api}/`, { method: 'HEAD' });
    assert.equal(heartbeat.status, 200);
    assert.equal(heartbeat.headers.get('content-type'), 'text/plain; charset=utf-8');
    const page = await fetch(`${api}/`);
    assert.notEqual(await page.text(), 'Ollama is running');
  });

  it("answers Anthropic's clients (anthropic-version) with Anthropic's model objects and errors, OpenAI's without", async () => {
    const headers = { 'x-api-key': key, 'anthropic-version': '2023-06-01' };
    const list = (await (await fetch(`${api}/v1/models?limit=1`, { headers })).json()) as { data: Array<{ type: string; id: string }>; has_more: boolean; first_id: string };
    assert.deepEqual(list.data.map((model) => [model.type, model.id]), [['model', 'stories260K']]);
    assert.equal(list.has_more, false);
    assert.equal(list.first_id, 'stories260K');
    const one = (await (await fetch(`${api}/v1/models/stories260K`, { headers })).json()) as { type: string; display_name: string };
    assert.deepEqual([one.type, one.display_name], ['model', 'stories260K']);
    const missing = await fetch(`${api}/v1/models/claude-sonnet-4-5`, { headers });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { type: string } }).error.type, 'not_found_error');
    const badCursor = await fetch(`${api}/v1/models?after_id=gone`, { headers });
    assert.equal(badCursor.status, 400);
    assert.equal(((await badCursor.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
    const openai = await call(api, '/v1/models/claude-sonnet-4-5', { key });
    assert.equal(openai.body.error.code, 'model_not_found');
  });

  it('refuses a chunked body over 1 MiB with 413 without reading it all', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${api}/v1/completions`);
      const request = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: `Bearer ${key}` } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      for (let sent = 0; sent <= 1024 * 1024; sent += chunk.length) request.write(chunk);
      request.end();
    });
    assert.equal(status, 413);
  });
});

describe('the API with no network to reach', () => {
  let server: ApiServer;
  let keysFile: string;

  before(async () => {
    keysFile = join(await tempDir(), 'api-keys.json');
    const config = validateNodeConfig({}, 'test');
    server = await startApiServer({ host: '127.0.0.1', port: 0, keysFile, key: generateNodeKey(), agent: 'test', limits: config.limits, logger: silentLogger(), aggregators: ['ws://127.0.0.1:9'] });
  });
  after(() => server?.close());

  it('tells the operator how to create a key while the node has none', async () => {
    const response = await call(server.url, '/v1/models', { key: 'inf_guess' });
    assert.equal(response.status, 401);
    assert.equal(response.body.error.code, 'invalid_api_key');
    assert.match(response.body.error.message, /infernet apikey create/);
  });

  it("answers Ollama's heartbeat at GET / and HEAD / without a key where no interface is served", async () => {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), 'Ollama is running');
    assert.equal((await fetch(`${server.url}/`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`${server.url}/`, { method: 'POST' })).status, 401, 'any other request to / still needs a key');
  });

  it('answers 503 when no aggregator can be reached', async () => {
    const { key } = await createApiKey(keysFile);
    const chat = await call(server.url, '/v1/chat/completions', { key, body: { model: 'stories260K', messages: [{ role: 'user', content: 'Hi' }] } });
    assert.equal(chat.status, 503);
    assert.equal(chat.body.error.code, 'no_aggregator');
    assert.equal(chat.body.error.type, 'server_error');
    assert.equal((await call(server.url, '/v1/models', { key })).status, 503);
  });
});
